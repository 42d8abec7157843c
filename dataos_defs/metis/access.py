"""How Metis names what it guards, for Heimdall.

* an entity: ``/metis/<entityType>/<fqn>`` (``/metis/table/shoppg.shop.public.orders``),
  with the predicates ``read``, ``create``, ``update``, ``delete``. Policy manifests accept
  object paths starting with ``/``, so ``/metis/**`` is "all of the catalog" and
  ``/metis/table/shoppg.**`` every table of the ``shoppg`` service. ``/`` and ``:`` are
  level separators of Heimdall's globs and may appear inside names: match FQNs with ``**``.
* the source credentials of a service: ``/metis/secrets/<entityType>/<fqn>`` (``read``),
  and only the scanner's identity (:data:`SCANNER_USER_ID`) ever receives them in clear.
* a table of a database service named after a depot is a dataset of that depot:
  ``service.database.schema.table`` is ``dataos://<service>:<schema>/<table>``, and
  reading its entity (or seeing it in a list or a lineage graph) also needs ``read`` on
  that dataset, so the catalog shows nobody a dataset the Gateway would refuse them.

>>> entity_object("table", 'pg.shop.public."a.b"')
'/metis/table/pg.shop.public."a.b"'
>>> dataset_object("table", ["pg", "shop", "public", "a.b"], frozenset({"pg"}))
'dataos://pg:public/a.b'
"""

from __future__ import annotations

from collections.abc import Sequence

SCANNER_USER_ID = "metis"
"""The application user the scanner runs as (DataOS' ``runAsUser: metis``)."""
SCANNER_ROLE_TAG = "roles:id:metis-scanner"


def entity_object(entity_type: str, fqn: str) -> str:
    return f"/metis/{entity_type}/{fqn}"


def secrets_object(entity_type: str, fqn: str) -> str:
    return f"/metis/secrets/{entity_type}/{fqn}"


def dataset_object(entity_type: str, names: Sequence[str], depots: frozenset[str]) -> str | None:
    """The dataset UDL a table entity stands for, when its service is a depot's."""
    if entity_type != "table" or len(names) != 4 or names[0] not in depots:
        return None
    depot, _database, schema, table = names
    return f"dataos://{depot}:{schema}/{table}"
