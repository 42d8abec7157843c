"""Minerva: query clusters over the depots (embedded DuckDB, or a Trino endpoint).

``embedded.EmbeddedCluster`` runs a cluster on one DuckDB with every depot attached;
``trino_cluster.TrinoCluster`` on a real Trino (its endpoint from ``settings.py``, its
catalog files from ``catalogs.py``). Both are catalogs of ``model.Table``s and run SQL into a
``result.QueryResult``. ``routing.route`` picks the cluster for a query by its ``selector``;
``tags.py`` is where column tags come from. Submodules are imported on demand: this package
imports nothing by itself.
"""
