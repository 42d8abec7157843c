"""DataOS on Dagster: manifests in, governed data products out."""

__version__ = "0.1.0"
