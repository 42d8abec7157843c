"""Applied depots as Dagster resources, resolved from the Poros store when a job runs.

Each applied depot becomes a :class:`DepotResource` under ``depot_<name>``, and the asset of
every job that reads or writes it requires that key, so the Dagster UI lists the depots an
asset uses. The resource's config is the depot's name and type only: compiled Definitions,
run config and the repository snapshot never hold a connection detail or a credential.
The connection and the credentials are read from the store in the step's own process, on
first use, through :class:`~dataos_defs.poros.depots.StoreDepots` (which decrypts them),
and the store is closed when the step ends.

Stack executors reach the depots of their job through :class:`ResourceDepots`, the
``DepotResolver`` the flare and soda stacks take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dagster import AssetExecutionContext, ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from dataos_defs.compile.keys import depot_resource_key
from dataos_defs.manifest.depot import Depot
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store


class DepotResource(ConfigurableResource):
    """One applied depot: what the UI shows about it; the rest comes from the store."""

    name: str
    type: str
    _store: Store | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, depot: Depot) -> DepotResource:
        """The resource of an applied depot (the factory ``compile_definitions`` takes)."""
        return cls(name=depot.name, type=depot.depot.type)

    def depot(self) -> Depot:
        """The depot as applied now (its manifest, secret values redacted)."""
        return StoreDepots(self._opened()).depot(self.name)

    def credentials(self, acl: str) -> Mapping[str, str]:
        """The depot's credential set for ``acl`` (``rw`` serves ``r``), decrypted."""
        return StoreDepots(self._opened()).credentials(self.name, acl)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _opened(self) -> Store:
        if self._store is None:
            self._store = Store.open(settings=Settings.from_env())
        return self._store


class ResourceDepots:
    """The ``DepotResolver`` of one job: the depot resources its asset requires, by name."""

    def __init__(self, resources: Mapping[str, DepotResource]) -> None:
        self._resources = dict(resources)

    @classmethod
    def of(cls, context: AssetExecutionContext, depots: Iterable[str]) -> ResourceDepots:
        """The resources of ``depots`` (a job's ``JobContext.depots``) in a running step."""
        return cls({name: getattr(context.resources, depot_resource_key(name)) for name in depots})

    def depot(self, name: str) -> Depot:
        return self._resource(name).depot()

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        return self._resource(name).credentials(acl)

    def _resource(self, name: str) -> DepotResource:
        found = self._resources.get(name)
        if found is None:
            raise LookupError(
                f"depot '{name}' is not applied (the job has no resource "
                f"{depot_resource_key(name)})"
            )
        return found
