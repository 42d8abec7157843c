"""DataOS Resource manifests: typed models, a positioned loader, validation and JSON Schema."""
