"""Runs act as an identity and are governed like that identity's queries, at run time.

A workflow job's runs act as the identity the store admitted for the workflow
(``JobContext.run_as``, compiled from the store; a run's tags are never trusted, anyone who
launches a run can set them). Before a step reads anything, :func:`run_governor` loads
that user from the store (a deleted or unknown user fails the step) and the step's stack
asks :meth:`RunGovernor.authorize` for ``read`` on every dataset it will read and ``write``
on every dataset it will write, in one Heimdall batch logged with ``source="workflow-run"``.
One denial fails the step naming the dataset, the user and Heimdall's reason; no decision
(a policy engine error) fails it too (fail closed). Nothing has been read then.

Every dataset the stack loads is replaced, right after loading, by what the identity may
see of it (:meth:`RunGovernor.govern`): its masks and row filters computed exactly as the
Gateway computes them (``DataPolicies.governance`` + ``governed_select``, DuckDB dialect),
with the column tags declared on depots, derived by earlier runs and set in Metis. Before an
output is written, :meth:`RunGovernor.derive_tags` records the tags each of its columns
inherits, so what a run writes is never readable without the tags of what it was made from.

Heimdall, the data policies and the column tags are built once per process
(:func:`runtime`) and follow the store's change marker, checked once at the start of
every step, so a policy changed between apply and run is the one applied.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet
from dagster import Failure

from dataos_defs.compile import JobContext, TransientError
from dataos_defs.gateway.model import Column, Refused, Table, TableName
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.gateway.rewrite import governed_select
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.udl import Udl
from dataos_defs.metis.tag_index import CatalogColumnTags
from dataos_defs.poros.column_tags import DerivedColumnTags, DerivedTags
from dataos_defs.poros.db import make_engine
from dataos_defs.poros.identities import Identities, User
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import Vault
from dataos_defs.stacks.flare.model import AccessDenied, ColumnSource

RUN_SOURCE = "workflow-run"
"""The ``source`` of every run-time decision in Heimdall's decision log."""
DIALECT = "duckdb"
ColumnTagIndex = Mapping[str, Mapping[str, Sequence[str]]]
"""Dataset id (``depot.collection.dataset``) -> lower-case column -> tags."""


@dataclass
class Runtime:
    """What governing runs needs in one process: the store, Heimdall, the data policies
    and the column tags, as of the store's change marker last seen."""

    key: tuple[Any, ...]
    store: Store
    heimdall: Heimdall
    marker: tuple[Any, ...] | None = None
    policies: DataPolicies = field(default_factory=lambda: DataPolicies([]))
    tags: ColumnTagIndex = field(default_factory=dict)

    def follow(self) -> None:
        """Catch up with the store and Metis' column tags if they changed since last seen
        (two small queries)."""
        marker = self.heimdall.change_marker()
        if marker == self.marker:
            return
        self.heimdall.reload()
        self.load(marker)

    def load(self, marker: tuple[Any, ...]) -> None:
        """Read the data policies and column tags as of ``marker`` (Heimdall reads its own)."""
        data = [
            Policy.model_validate(r.manifest)
            for r in self.store.list(kind="policy")
            if (r.manifest.get("policy") or {}).get("data") is not None
        ]
        self.policies = DataPolicies(data)
        self.tags = self.heimdall.column_tags()
        self.marker = marker

    def close(self) -> None:
        self.heimdall.close()
        self.store.close()


_runtimes: list[Runtime] = []
_lock = threading.Lock()


def runtime(settings: Settings | None = None) -> Runtime:
    """This process's :class:`Runtime` for the store of ``settings`` (default: the env).

    Built on first use in the step's own process (never inherited across a fork: the
    process id is part of its key) and reused by every later step of that process. The
    store is opened without migrating it (the API server does) and with a key that
    decrypts nothing: governing needs no secret.
    """
    settings = settings or Settings.from_env()
    key = (os.getpid(), settings.database_url, str(settings.home))
    with _lock:
        if _runtimes and _runtimes[0].key == key:
            return _runtimes[0]
        stale = _runtimes[0] if _runtimes and _runtimes[0].key[0] == key[0] else None
        store = Store(make_engine(settings.database_url), Vault(Fernet.generate_key()))
        heimdall: Heimdall | None = None
        try:
            heimdall = Heimdall(store, settings.home)
            catalog_tags = CatalogColumnTags(store.engine)
            # Read before the tags are loaded, in the shape of Heimdall.change_marker, so
            # that a change made meanwhile is caught at the next step.
            marker = (store.change_marker(), catalog_tags.marker())
            heimdall.attach_column_tags(catalog_tags)
            built = Runtime(key, store, heimdall)
            built.load(marker)
        except BaseException:
            if heimdall is not None:
                heimdall.close()
            store.close()
            raise
        _runtimes[:] = [built]
    if stale is not None:
        stale.close()
    return built


def run_governor(job: JobContext, settings: Settings | None = None) -> RunGovernor:
    """The governor of one step of ``job``: its identity loaded from the store, the
    policies caught up with it. Raises :class:`AccessDenied` when there is no such user."""
    where = f"workflow {job.workspace}/{job.workflow} job {job.job}"
    if not job.run_as:
        raise AccessDenied(
            f"{where} has no identity to run as; re-apply the workflow so that its runs "
            "act as its owner or a runAsUser"
        )
    state = runtime(settings)
    state.follow()
    user = Identities(state.store).get_user(job.run_as)
    if user is None:
        raise AccessDenied(
            f"{where} runs as {job.run_as}, which is not a user of this platform (deleted or "
            "never created); re-apply the workflow as an existing user or with another runAsUser"
        )
    return RunGovernor(state, job, user)


@contextmanager
def governed_step(job: JobContext, settings: Settings | None = None) -> Iterator[RunGovernor]:
    """The governor of one step of ``job``, for the stack to run with.

    A refusal fails the step: a denial for good (retrying cannot change it), no decision as
    a transient error (retried under the job's retry strategy, refused every time until
    Heimdall decides again). The step's decisions are on disk in the decision log when the
    step ends (its writer thread has usually written them while the step ran, so this
    rarely waits).
    """
    governor: RunGovernor | None = None
    try:
        governor = run_governor(job, settings)
        yield governor
    except AccessDenied as exc:
        if exc.decided:
            raise Failure(description=exc.message, allow_retries=False) from None
        raise TransientError(exc.message) from None
    finally:
        if governor is not None:
            governor.state.heimdall.log.flush()


def canonical(address: str) -> str:
    """``dataos://depot:collection/dataset`` without ``?acl``; raises AccessDenied for an
    address that names no dataset (nothing can be authorized for it)."""
    try:
        udl = Udl.parse(address)
    except ValueError as exc:
        raise AccessDenied(f"'{address}' is not a dataset address: {exc}") from None
    if not udl.collection or not udl.dataset:
        raise AccessDenied(f"'{address}' names no dataset (dataos://depot:collection/dataset)")
    return udl.address


def dataset_id(address: str) -> str:
    """``depot.collection.dataset`` in lower case, as tags and data policies name datasets."""
    return Udl.parse(address).dotted.lower()


class RunGovernor:
    """The ``Governor`` of one step (see ``dataos_defs.stacks.flare.model.Governor``)."""

    def __init__(self, state: Runtime, job: JobContext, user: User) -> None:
        self.state = state
        self.job = job
        self.user = user
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.policies: dict[str, tuple[str, ...]] = {}
        """Dataset address -> the data policies that shaped what the run read of it."""

    @property
    def who(self) -> str:
        job = self.job
        return f"workflow {job.workspace}/{job.workflow} job {job.job} runs as {self.user.id}"

    def authorize(self, reads: Sequence[str], writes: Sequence[str]) -> None:
        """Ask Heimdall, in one batch, for ``read`` on ``reads`` and ``write`` on ``writes``.

        An address is asked as written and in lower case when that differs (the Gateway
        and the data policies see names in lower case): both must be allowed.
        """
        wanted = {("read", canonical(a)) for a in reads} | {("write", canonical(a)) for a in writes}
        requests = sorted({(p, form) for p, a in wanted for form in (a, a.lower())})
        if requests:
            self._decide(requests)
        self.reads.update(a for p, a in wanted if p == "read")
        self.writes.update(a for p, a in wanted if p == "write")

    def _decide(self, requests: list[tuple[str, str]]) -> None:
        heimdall, user = self.state.heimdall, self.user
        try:
            decisions = heimdall.authorize_many(user.id, user.tags, requests, source=RUN_SOURCE)
        except PolicyEngineError as exc:
            raise AccessDenied(
                f"{self.who}; no decision could be made for its datasets ({exc}), so it is "
                "refused (fail closed); run it again once Heimdall decides",
                decided=False,
            ) from None
        denied = [
            f"{user.id} may not {predicate} {path}: {decision.reason}"
            for (predicate, path), decision in zip(requests, decisions, strict=True)
            if not decision.allow
        ]
        if denied:
            raise AccessDenied(
                f"{self.who}; {'; '.join(denied)}; ask for an access policy or run as a "
                "user who may"
            )

    def govern(self, address: str, columns: Sequence[tuple[str, str]], relation: str) -> str | None:
        """What the identity may see of a loaded dataset, as the Gateway would show it."""
        if canonical(address) not in self.reads:
            raise AccessDenied(
                f"{self.who}; {address} was not authorized for reading before it was loaded "
                "(fail closed)"
            )
        udl = Udl.parse(address)
        name = TableName(udl.depot.lower(), str(udl.collection).lower(), str(udl.dataset).lower())
        tags = self.state.tags.get(name.dataset_id, {})
        table = Table(
            name,
            tuple(Column(c, t, tuple(tags.get(c.lower(), ()))) for c, t in columns),
            relation,
        )
        governance = self.state.policies.governance(table, self.user.tags)
        self.policies[address] = governance.policies
        if not governance.masks and not governance.filters:
            return None
        try:
            return governed_select(table, governance, DIALECT).sql(dialect=DIALECT)
        except Refused as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise AccessDenied(
                f"{self.who}; {address} cannot be read: {exc.message}{hint}"
            ) from None

    def derive_tags(
        self,
        address: str,
        lineage: Mapping[str, Sequence[ColumnSource]],
        untraced: Collection[str] = (),
        *,
        append: bool = False,
    ) -> None:
        """Record the tags each column of ``address`` inherits, before it is written."""
        if canonical(address) not in self.writes:
            raise AccessDenied(
                f"{self.who}; {address} was not authorized for writing before it was written "
                "(fail closed)"
            )
        derived = inherited_tags(self.state.tags, lineage, untraced, self.reads)
        tags = DerivedColumnTags(self.state.store)
        target = dataset_id(address)
        if append:
            derived = merged(tags.of(target), derived)
        job = self.job
        tags.record(target, derived, f"{job.workspace}/{job.workflow}/{job.job}")


def inherited_tags(
    index: ColumnTagIndex,
    lineage: Mapping[str, Sequence[ColumnSource]],
    untraced: Collection[str],
    reads: Collection[str],
) -> dict[str, DerivedTags]:
    """Each output column's tags: the union of its source columns' tags; a column whose
    lineage is unknown takes the tags of every column the run read (``derived_from`` ``*``)."""
    everything = _all_tags(index, reads)
    found: dict[str, DerivedTags] = {}
    for column, sources in lineage.items():
        tags: list[str] = []
        origin: list[str] = []
        for source in sources:
            source_id = dataset_id(source.dataset)
            tags.extend(index.get(source_id, {}).get(source.column.lower(), ()))
            origin.append(f"{source_id}.{source.column.lower()}")
        if column in untraced:
            tags.extend(everything)
            origin.append("*")
        found[column.lower()] = DerivedTags(tuple(dict.fromkeys(tags)), tuple(origin))
    for column in untraced:
        found.setdefault(column.lower(), DerivedTags(everything, ("*",)))
    return found


def _all_tags(index: ColumnTagIndex, reads: Collection[str]) -> tuple[str, ...]:
    """Every tag of every column of the datasets read, each once."""
    found: dict[str, None] = {}
    for address in sorted(reads):
        for tags in index.get(dataset_id(address), {}).values():
            found.update(dict.fromkeys(tags))
    return tuple(found)


def merged(
    before: Mapping[str, DerivedTags], now: Mapping[str, DerivedTags]
) -> dict[str, DerivedTags]:
    """Both sets of derived tags, column by column (an append keeps what its rows carry)."""
    found = dict(before)
    for column, derived in now.items():
        old = found.get(column, DerivedTags(()))
        found[column] = DerivedTags(
            tuple(dict.fromkeys([*old.tags, *derived.tags])),
            tuple(dict.fromkeys([*old.derived_from, *derived.derived_from])),
        )
    return found
