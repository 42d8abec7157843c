"""The example Service and Worker that ``make up`` runs (``resources/service.yaml`` and
``resources/worker.yaml``): standard library only, as small as a container image's program.

- :mod:`.hello`: an HTTP server on ``$PORT`` answering ``/health`` and ``/hello``;
- :mod:`.queue`: a Worker consuming a queue table (SQLite) under ``$DATAOS_WORKLOAD_DIR``.
"""
