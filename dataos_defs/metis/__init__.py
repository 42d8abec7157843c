"""Metis: the catalog of the platform, served as the OpenMetadata REST subset that the real
``openmetadata-ingestion`` framework and SDK use (routes: ``dataos_defs.api.metis``).

Rooms: ``fqn`` (names), ``schema`` + ``migrations`` + ``db`` (tables in the platform's
store with their own alembic history), ``entities`` (typed answers, OpenMetadata's fields),
``requests`` (create requests), ``builders`` (requests → bodies, merges), ``catalog`` and
``rows`` (entities with versions and soft delete), ``records`` (what the catalog hands
out), ``patch`` (RFC 6902), ``connections`` (source credentials sealed with the vault),
``lineage`` (edges and graphs), ``runs`` (pipeline runs), ``access`` (how entities are
named for Heimdall), ``scanner`` (the ``metis`` application user), ``stale`` (what a scan
no longer sees), ``test_connections`` (the ingestion's test-connection steps), and search:
``search`` (what a caller gets: access, facets, pages) over ``search_index`` (one interface)
with ``search_sqlite`` (FTS5) and ``search_postgres`` (tsvector), ``search_docs`` (what is
indexed) and ``search_filter`` (the Elasticsearch filter subset). Governance and Poros:
``tag_index`` (the column tags the Gateway and Heimdall mask by), ``tag_rules`` (who may
change them: the one rule), ``poros_catalog`` + ``poros_sync`` (depots and workflows as
entities) and ``run_lineage`` (what every flare run wrote, from what).
"""
