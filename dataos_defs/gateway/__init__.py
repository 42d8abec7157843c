"""The Gateway: governed SQL over Minerva clusters (data policies applied by rewrite)."""
