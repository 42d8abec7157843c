"""The Dagster code location: ``definitions`` (the single entry point ``workspace.yaml``
loads), the stack executors registry, depots as Dagster resources, the step preload and
the names of compiled Dagster objects.

Importing this package imports nothing: ``naming`` is dependency-free so the API can look
compiled objects up over Dagster's GraphQL API without importing Dagster.
"""
