"""The Poros store: every applied manifest with its revisions, references and writers.

Like etcd for Kubernetes, this is the desired state of the platform. Each call is one
transaction; writes are serialized (see ``db``); revisions are append-only.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from dataos_defs.poros import outbox, summaries, workspaces, writes
from dataos_defs.poros import queries as q
from dataos_defs.poros.db import make_engine, upgrade, writer
from dataos_defs.poros.errors import (
    DependentsExist,
    InvalidRequest,
    ResourceNotFound,
    WorkspaceNotFound,
)
from dataos_defs.poros.records import (
    STATUSES,
    ApplyAction,
    ApplyItem,
    ApplyResult,
    ResourceKey,
    Revision,
    Status,
    StoredResource,
    Workspace,
)
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.tables import (
    ColumnTagRow,
    ResourceRow,
    RevisionRow,
    UserRow,
    UserTagRow,
    WorkspaceRow,
)
from dataos_defs.poros.vault import Vault, redact, restore


class Store:
    """Open with :meth:`open`; every public method is one transaction."""

    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine
        self.vault = vault
        self._writer = writer(engine)

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> Store:
        """Connect to the store (``DATAOS_DATABASE_URL`` by default) and migrate it."""
        settings = settings or Settings.from_env()
        vault = Vault.from_settings(settings)
        engine = make_engine(url or settings.database_url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, vault)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self, *, commit: bool = True) -> Iterator[Session]:
        """A transaction holding the store's write lock; rolled back unless ``commit``."""
        with Session(self._writer, expire_on_commit=False) as session:
            session.begin()
            yield session
            if commit:
                session.commit()
            else:
                session.rollback()

    # -- resources -------------------------------------------------------------------------

    def apply(
        self, items: Sequence[ApplyItem], actor: str, *, dry_run: bool = False
    ) -> builtins.list[ApplyResult]:
        """Store ``items`` in one transaction; an unchanged manifest gets no new revision.

        With ``dry_run`` everything runs, database constraints included, then rolls back.
        """
        keys = [item.key for item in items]
        if len(set(keys)) != len(keys):
            raise InvalidRequest("the same Resource appears twice in one apply")
        at = q.now()
        with self.writing(commit=not dry_run) as session:
            wanted = {k.workspace for k in keys if k.workspace}
            missing = wanted - workspaces.live_names(session, wanted)
            if missing:
                raise WorkspaceNotFound(sorted(missing)[0])
            rows = q.rows_by_key(session, keys)
            results: list[ApplyResult] = []
            changed: list[tuple[ApplyItem, ResourceRow, ApplyAction]] = []
            for item in items:
                digest = self.vault.digest(item.manifest)
                row = rows.get(item.key)
                if row is not None and row.status != "deleted" and row.digest == digest:
                    results.append(_result(item, "unchanged", row.current_revision))
                    continue
                action: ApplyAction = "updated" if row and row.status != "deleted" else "created"
                row = writes.stage(session, row, item, actor, digest, at)
                changed.append((item, row, action))
                results.append(_result(item, action, row.current_revision))
            session.flush()
            if changed:
                session.execute(
                    insert(RevisionRow), [self._revision(*c, actor, at) for c in changed]
                )
                writes.replace_links(session, [(item, row) for item, row, _ in changed])
                writes.record_runs(session, [(item, row) for item, row, _ in changed], at)
        return results

    def _revision(
        self, item: ApplyItem, row: ResourceRow, action: ApplyAction, actor: str, at: datetime
    ) -> dict[str, Any]:
        sanitized, secrets = redact(item.manifest, item.secret_paths)
        return {
            "resource_id": row.id,
            "revision": row.current_revision,
            "action": action,
            "version": item.version,
            "manifest": sanitized,
            "secret_ciphertext": self.vault.seal(secrets),
            "digest": row.digest,
            "applied_by": actor,
            "applied_at": at,
            "source_file": item.source_file,
        }

    def get(
        self,
        kind: str,
        name: str,
        workspace: str | None = None,
        *,
        unsanitize: bool = False,
        include_deleted: bool = False,
    ) -> StoredResource | None:
        """The current state; secret values come back only with ``unsanitize``."""
        key = ResourceKey(kind, name, workspace)
        with self.reading() as session:
            found = session.execute(q.with_current_revision().where(q.key_in([key]))).first()
        if found is None or (found[0].status == "deleted" and not include_deleted):
            return None
        row, revision = found
        return self._stored(row, revision, unsanitize)

    def list(
        self,
        kind: str | None = None,
        workspace: str | None = None,
        name: str | None = None,
        *,
        include_deleted: bool = False,
    ) -> builtins.list[StoredResource]:
        """Resources matching every filter given, ordered by kind, workspace and name."""
        query = q.with_current_revision()
        if kind is not None:
            query = query.where(ResourceRow.kind == kind)
        if workspace is not None:
            query = query.where(ResourceRow.workspace_key == workspace)
        if name is not None:
            query = query.where(ResourceRow.name == name)
        if not include_deleted:
            query = query.where(ResourceRow.status != "deleted")
        query = query.order_by(ResourceRow.kind, ResourceRow.workspace_key, ResourceRow.name)
        with self.reading() as session:
            found = session.execute(query).all()
        return [self._stored(row, revision, False) for row, revision in found]

    def list_summaries(
        self,
        kind: str | None = None,
        workspace: str | None = None,
        name: str | None = None,
        *,
        manifests_of: Collection[str] = (),
    ) -> builtins.list[StoredResource]:
        """The live Resources :meth:`list` returns, in its order, read in one plain query for
        listings: the manifest is read for the kinds in ``manifests_of`` only, and is empty
        for the others (decoding every manifest of the store is most of a listing's cost)."""
        with self.reading() as session:
            return summaries.live(session, kind, workspace, name, manifests_of)

    def history(
        self, kind: str, name: str, workspace: str | None = None
    ) -> builtins.list[Revision]:
        """Every revision, oldest first (empty if the Resource never existed)."""
        query = (
            select(RevisionRow)
            .join(ResourceRow, RevisionRow.resource_id == ResourceRow.id)
            .where(q.key_in([ResourceKey(kind, name, workspace)]))
            .order_by(RevisionRow.revision)
        )
        with self.reading() as session:
            return [q.to_revision(r) for r in session.scalars(query)]

    def delete(
        self, kind: str, name: str, workspace: str | None, actor: str, *, force: bool = False
    ) -> Revision:
        """Delete for good; refused while live Resources reference it, unless ``force``."""
        key = ResourceKey(kind, name, workspace)
        with self.writing() as session:
            row = q.rows_by_key(session, [key]).get(key)
            if row is None or row.status == "deleted":
                raise ResourceNotFound(key)
            dependents = q.dependents(session, key, row.id)
            if dependents and not force:
                raise DependentsExist(key, dependents)
            return writes.delete_rows(session, [row], actor)[0]

    def delete_many(
        self, keys: Sequence[ResourceKey], actor: str, *, force: bool = False
    ) -> builtins.list[ResourceKey]:
        """Delete every Resource of ``keys`` in one transaction, dependents first; the keys
        in the order deleted. Refused as a whole when one is missing, or (unless ``force``)
        when a live Resource outside ``keys`` depends on one of them."""
        if len(set(keys)) != len(keys):
            raise InvalidRequest("the same Resource appears twice in one delete")
        with self.writing() as session:
            rows = q.rows_by_key(session, builtins.list(keys))
            for key in keys:
                if key not in rows or rows[key].status == "deleted":
                    raise ResourceNotFound(key)
            targets = set(keys)
            for key in keys:
                outside = [d for d in q.dependents(session, key, rows[key].id) if d not in targets]
                if outside and not force:
                    raise DependentsExist(key, outside)
            order = writes.dependents_first(session, [rows[k] for k in keys])
            writes.delete_rows(session, order, actor)
            return [q.key_of(row) for row in order]

    def compile_fingerprint(self, kinds: Iterable[str]) -> str:
        """A digest of the Resources of ``kinds`` and their revisions, deleted ones included:
        it changes whenever any of them is applied with a change or deleted, and never comes
        back to an earlier value (revisions only grow)."""
        query = (
            select(
                ResourceRow.kind,
                ResourceRow.workspace_key,
                ResourceRow.name,
                ResourceRow.current_revision,
            )
            .where(ResourceRow.kind.in_(sorted(set(kinds))))
            .order_by(ResourceRow.kind, ResourceRow.workspace_key, ResourceRow.name)
        )
        digest = hashlib.sha256()
        with self.reading() as session:
            for row in session.execute(query):
                digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()

    # -- the run outbox --------------------------------------------------------------------

    def outbox(self) -> builtins.list[outbox.OutboxEntry]:
        """Workflows waiting to run once (see :mod:`dataos_defs.poros.outbox`)."""
        with self.reading() as session:
            return outbox.pending(session)

    def outbox_claim(self, key: ResourceKey, revision: int, seconds: float) -> bool:
        """Claim the entry for ``seconds`` to launch its run; False when another holds it."""
        at = q.now()
        with self.writing() as session:
            return outbox.claim(session, key, revision, at, at + timedelta(seconds=seconds))

    def outbox_done(self, key: ResourceKey, revision: int) -> bool:
        with self.writing() as session:
            return outbox.done(session, key, revision)

    def outbox_failed(self, key: ResourceKey, revision: int, reason: str) -> None:
        with self.writing() as session:
            outbox.failed(session, key, revision, reason, q.now())

    def change_marker(self) -> tuple[Any, ...]:
        """A value that changes whenever Resources, workspaces or users' tags do: lets every
        process serving the same store notice changes made by another one, cheaply. Tags are
        summarised by count and total length, so replacing a tag by another of the same
        length in another process goes unnoticed until the next change."""
        with self.reading() as session:
            revision = session.scalar(select(func.max(RevisionRow.id)))
            spaces = session.execute(
                select(
                    func.count(WorkspaceRow.name),
                    func.count(WorkspaceRow.deleted_at),
                    func.max(WorkspaceRow.created_at),
                )
            ).one()
            people = session.execute(
                select(
                    func.count(UserRow.id),
                    func.count(UserRow.deleted_at),
                    func.max(UserRow.created_at),
                )
            ).one()
            tags = session.execute(
                select(func.count(UserTagRow.tag), func.sum(func.length(UserTagRow.tag)))
            ).one()
            derived = session.execute(
                select(func.count(ColumnTagRow.dataset), func.max(ColumnTagRow.updated_at))
            ).one()
            return (revision, *spaces, *people, *tags, *derived)

    def listing_marker(self) -> tuple[Any, ...]:
        """A value that changes whenever a listing of Resources would: every apply and delete
        adds a revision, every status change stamps ``updated_at``. One cheap query, for
        caches of listings (a status change stamped with a wall clock set back is missed)."""
        with self.reading() as session:
            revision = session.scalar(select(func.max(RevisionRow.id)))
            rows = session.execute(
                select(func.count(ResourceRow.kind), func.max(ResourceRow.updated_at))
            ).one()
        return (revision, *rows)

    def set_status(
        self,
        kind: str,
        name: str,
        workspace: str | None,
        status: Status,
        reason: str | None = None,
    ) -> None:
        """Record the lifecycle status found by reconciliation (no new revision)."""
        if status not in STATUSES or status == "deleted":
            raise InvalidRequest(f"status must be pending, active or error, not '{status}'")
        key = ResourceKey(kind, name, workspace)
        with self.writing() as session:
            row = q.rows_by_key(session, [key]).get(key)
            if row is None or row.status == "deleted":
                raise ResourceNotFound(key)
            row.status, row.status_reason, row.updated_at = status, reason, q.now()

    # -- lookups for the apply service -----------------------------------------------------

    def live_keys(self, keys: Iterable[ResourceKey]) -> set[ResourceKey]:
        """Which of ``keys`` name live (not deleted) Resources."""
        with self.reading() as session:
            rows = q.rows_by_key(session, list(set(keys)))
        return {key for key, row in rows.items() if row.status != "deleted"}

    def names(self, kind: str, workspace: str | None = None) -> builtins.list[str]:
        """Live names of one kind (in one workspace, for workspace-level kinds)."""
        query = select(ResourceRow.name).where(
            ResourceRow.kind == kind,
            ResourceRow.workspace_key == (workspace or ""),
            ResourceRow.status != "deleted",
        )
        with self.reading() as session:
            return sorted(session.scalars(query))

    def dependents(
        self, kind: str, name: str, workspace: str | None = None
    ) -> builtins.list[ResourceKey]:
        """Live Resources that reference this one."""
        key = ResourceKey(kind, name, workspace)
        with self.reading() as session:
            row = q.rows_by_key(session, [key]).get(key)
            return q.dependents(session, key, row.id if row else None)

    def dataset_writers(self, datasets: Sequence[str]) -> dict[str, ResourceKey]:
        """The live Resource writing each of ``datasets`` (datasets nobody writes are absent)."""
        with self.reading() as session:
            return q.dataset_writers(session, datasets)

    # -- workspaces ------------------------------------------------------------------------

    def create_workspace(
        self,
        name: str,
        description: str | None = None,
        tags: Sequence[str] = (),
        actor: str = "system",
    ) -> Workspace:
        with self.writing() as session:
            return workspaces.create(session, name, description, list(tags), actor, q.now())

    def get_workspace(self, name: str) -> Workspace | None:
        with self.reading() as session:
            return workspaces.get(session, name)

    def list_workspaces(self) -> builtins.list[Workspace]:
        with self.reading() as session:
            return workspaces.list_live(session)

    def delete_workspace(
        self, name: str, actor: str, *, force: bool = False
    ) -> builtins.list[ResourceKey]:
        """Delete a workspace; with ``force`` its live Resources go too (and are returned)."""
        with self.writing() as session:
            rows = workspaces.prepare_delete(session, name, force)
            writes.delete_rows(session, rows, actor)
            workspaces.mark_deleted(session, name, q.now())
            return [q.key_of(r) for r in rows]

    def _stored(self, row: ResourceRow, revision: RevisionRow, unsanitize: bool) -> StoredResource:
        manifest = revision.manifest
        if unsanitize and revision.secret_ciphertext:
            manifest = restore(manifest, self.vault.open(revision.secret_ciphertext))
        return StoredResource(
            kind=row.kind,
            name=row.name,
            workspace=row.workspace,
            version=row.version,
            status=cast(Status, row.status),
            status_reason=row.status_reason,
            owner=row.owner,
            revision=row.current_revision,
            manifest=manifest,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
            run_as=row.run_as,
        )


def _result(item: ApplyItem, action: ApplyAction, revision: int) -> ApplyResult:
    key = item.key
    return ApplyResult(key.kind, key.name, key.workspace, item.version, action, revision)
