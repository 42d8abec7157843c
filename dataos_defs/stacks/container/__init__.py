"""The container stack: a job's image and command run through Dagster Pipes (a local
process in embedded mode, a Kubernetes pod with ``PipesK8sClient``)."""
