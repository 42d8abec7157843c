"""The catalog: entities with versions, soft delete and sealed source credentials.

Every public method is one transaction; writes hold the store's write lock (``poros.db``).
A write that changes an entity keeps its previous body in ``metis_entity_versions`` and
moves its version by 0.1; a write that changes nothing keeps the version (a re-run of the
ingestion creates no versions).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from dataos_defs.metis import builders, connections, db, rows, search_index, tag_index
from dataos_defs.metis.records import FIRST_VERSION, Listed, StoredEntity, version_number
from dataos_defs.metis.requests import CreateEntity
from dataos_defs.metis.schema import entities, entity_versions
from dataos_defs.poros.db import write_transaction
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import Vault

LIST_COLUMNS = (
    entities.c.entity_type,
    entities.c.id,
    entities.c.fqn,
    entities.c.service,
    entities.c.parent_fqn,
    entities.c.deleted,
)


Guard = Callable[[str, str, dict[str, Any] | None, dict[str, Any] | None], None]
"""Called inside a write's transaction with ``(entity type, FQN, body before, body after)``
(None: absent, or erased); raising refuses the write (``tag_rules`` guards tags this way,
so a concurrent change cannot slip between the check and the write)."""


class Raced(Exception):
    """The entity appeared or vanished between the caller's authorization and the write."""


class VersionMismatch(Exception):
    def __init__(self, current: float) -> None:
        super().__init__(f"the entity is at version {current}")
        self.current = current


def _same_source(previous: StoredEntity, body: dict[str, Any]) -> bool:
    """The scanner sends what it sent when this live entity was written (same
    ``sourceHash``): nothing to compare, as OpenMetadata's bulk endpoint skips it."""
    incoming = body.get("sourceHash")
    return bool(incoming) and not previous.deleted and previous.body.get("sourceHash") == incoming


def now_ms() -> int:
    return int(time.time() * 1000)


class Catalog:
    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine
        self.vault = vault

    @classmethod
    def open(cls, store: Store) -> Catalog:
        """The catalog in ``store``'s database, migrated to Metis' newest schema."""
        db.upgrade(store.engine)
        return cls(store.engine, store.vault)

    # -- reads --------------------------------------------------------------------------

    def get(
        self,
        entity_type: str,
        *,
        fqn: str | None = None,
        id: str | None = None,
        include_deleted: bool = False,
    ) -> StoredEntity | None:
        with self.engine.connect() as conn:
            return rows.get(conn, entity_type, fqn, id, include_deleted)

    def get_by_id(self, id: str) -> StoredEntity | None:
        """Any entity by id, whatever its type (lineage names entities by id)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(entities).where(entities.c.id == id)).mappings().first()
        return rows.stored_of(row) if row is not None else None

    def get_many(self, ids: Iterable[str]) -> dict[str, StoredEntity]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, StoredEntity] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(entities).where(entities.c.id.in_(chunk))
                found.update((r["id"], rows.stored_of(r)) for r in conn.execute(query).mappings())
        return found

    def listed(
        self,
        entity_type: str,
        *,
        service: str | None = None,
        parent_fqn: str | None = None,
        include: str = "non-deleted",
    ) -> list[Listed]:
        """Rows of one type in FQN order, filtered by service and parent."""
        query = select(*LIST_COLUMNS).where(entities.c.entity_type == entity_type)
        if service is not None:
            query = query.where(entities.c.service == service)
        if parent_fqn is not None:
            query = query.where(entities.c.parent_fqn == parent_fqn)
        if include == "non-deleted":
            query = query.where(entities.c.deleted.is_(False))
        elif include == "deleted":
            query = query.where(entities.c.deleted.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        listed = [Listed(*row) for row in rows]
        return sorted(listed, key=lambda item: item.fqn)

    def versions(self, entity_id: str) -> list[StoredEntity]:
        """Every previous version of an entity, newest first (the current one excluded)."""
        with self.engine.connect() as conn:
            current = conn.execute(select(entities).where(entities.c.id == entity_id)).mappings()
            row = current.first()
            if row is None:
                return []
            old = conn.execute(
                select(entity_versions)
                .where(entity_versions.c.entity_id == entity_id)
                .order_by(entity_versions.c.version_tenths.desc())
            ).mappings()
            return [rows.old(row, version) for version in old]

    def secrets(self, stored: StoredEntity) -> connections.Secrets:
        return connections.unseal(self.vault, stored.secret_token)

    # -- writes -------------------------------------------------------------------------

    def put(
        self,
        entity_type: str,
        request: CreateEntity,
        actor: str,
        *,
        expect_new: bool | None,
        guard: Guard | None = None,
    ) -> tuple[StoredEntity, str]:
        """Create or update from a create request; returns the entity and what happened
        (``created``, ``updated`` or ``unchanged``). ``expect_new`` is what the caller was
        authorized for (create: True, update: False); :class:`Raced` when the entity's
        existence changed since."""
        with write_transaction(self.engine) as conn:
            return self._put(conn, entity_type, request, actor, expect_new, guard)

    def _put(
        self,
        conn: Connection,
        entity_type: str,
        request: CreateEntity,
        actor: str,
        expect_new: bool | None,
        guard: Guard | None = None,
    ) -> tuple[StoredEntity, str]:
        built = builders.build(entity_type, request, rows.lookup(conn))
        previous = rows.get(conn, entity_type, built.fqn, None, include_deleted=True)
        if expect_new is not None and expect_new != (previous is None):
            raise Raced(built.fqn)
        if previous is None:
            body = {**built.body, "id": str(uuid.uuid4())}
            if guard is not None:
                guard(entity_type, built.fqn, None, body)
            return self._insert(conn, entity_type, body, built, actor), "created"
        if _same_source(previous, built.body):
            return previous, "unchanged"
        merged = builders.merge(previous.body, built.body)
        if guard is not None:
            guard(entity_type, built.fqn, previous.body, merged)
        stored = self._write(conn, previous, merged, actor, restore=True)
        return stored, "unchanged" if stored is previous else "updated"

    def replace(
        self,
        previous: StoredEntity,
        body: dict[str, Any],
        actor: str,
        *,
        expected_tenths: int | None = None,
        guard: Guard | None = None,
    ) -> StoredEntity:
        """Store ``body`` as the next version of ``previous`` (a patch's result), unless
        the entity moved past ``expected_tenths`` (raises :class:`VersionMismatch`)."""
        with write_transaction(self.engine) as conn:
            current = rows.get(conn, previous.entity_type, None, previous.id, include_deleted=True)
            if current is None:
                raise LookupError(previous.fqn)
            if expected_tenths is not None and current.version_tenths != expected_tenths:
                raise VersionMismatch(current.version)
            if guard is not None:
                guard(current.entity_type, current.fqn, current.body, body)
            return self._write(conn, current, body, actor, restore=False)

    def descendants(self, stored: StoredEntity) -> list[StoredEntity]:
        """The entities under ``stored`` (by FQN), deepest first, deleted ones included."""
        with self.engine.connect() as conn:
            return rows.descendants(conn, stored)

    def delete(
        self,
        stored: StoredEntity,
        children: Sequence[StoredEntity],
        actor: str,
        *,
        hard: bool,
        guard: Guard | None = None,
    ) -> StoredEntity:
        """Soft-delete (a new version marked deleted) or hard-delete (every trace, lineage
        included) ``stored`` and ``children``; returns ``stored`` as it ends. ``guard``
        sees each entity's current body and what it becomes (None when erased)."""
        ended = replace(stored, deleted=True)
        with write_transaction(self.engine) as conn:
            for item in [*children, stored]:
                if guard is not None:
                    current = rows.get(conn, item.entity_type, None, item.id, include_deleted=True)
                    before = current.body if current is not None else item.body
                    after = None if hard else {**before, "deleted": True}
                    guard(item.entity_type, item.fqn, before, after)
                if hard:
                    rows.erase(conn, item.id)
                    search_index.unindex(conn, item.id)
                    tag_index.forget(conn, item.id)
                elif not item.deleted:
                    body = {**item.body, "deleted": True}
                    written = self._write(conn, item, body, actor, restore=False, deleted=True)
                    ended = written if item is stored else ended
        return ended

    def _insert(
        self,
        conn: Connection,
        entity_type: str,
        body: dict[str, Any],
        built: builders.Built,
        actor: str,
    ) -> StoredEntity:
        at = now_ms()
        body = {
            **body,
            "version": version_number(FIRST_VERSION),
            "updatedAt": at,
            "updatedBy": actor,
        }
        body, token = self._seal(entity_type, body, [], None)
        values = {
            "id": body["id"],
            "entity_type": entity_type,
            "fqn": built.fqn,
            "fqn_digest": rows.digest(built.fqn),
            "name": body["name"],
            "service": built.service,
            "parent_fqn": built.parent,
            "body": body,
            "secret_ciphertext": token,
            "version_tenths": FIRST_VERSION,
            "updated_at": at,
            "updated_by": actor,
            "deleted": False,
        }
        conn.execute(insert(entities).values(**values))
        stored = rows.stored_of(values)
        search_index.index(conn, stored)
        tag_index.project(conn, stored)
        return stored

    def _write(
        self,
        conn: Connection,
        previous: StoredEntity,
        body: dict[str, Any],
        actor: str,
        *,
        restore: bool,
        deleted: bool | None = None,
    ) -> StoredEntity:
        """The next version of ``previous`` with ``body``; ``previous`` itself if nothing
        but server fields would change."""
        old_secrets = self.secrets(previous)
        body, token = self._seal(
            previous.entity_type, body, old_secrets, previous.body.get("connection")
        )
        new_deleted = deleted if deleted is not None else (False if restore else previous.deleted)
        same = rows.comparable(body) == rows.comparable(previous.body)
        if same and new_deleted == previous.deleted and self._same_secrets(token, old_secrets):
            return previous
        at = now_ms()
        tenths = previous.version_tenths + 1
        body = {
            **body,
            "id": previous.id,
            "version": version_number(tenths),
            "updatedAt": at,
            "updatedBy": actor,
            "deleted": new_deleted,
        }
        builders.normalize(previous.entity_type, body)
        conn.execute(insert(entity_versions).values(**rows.version_row(previous, conn)))
        values = {
            "body": body,
            "secret_ciphertext": token,
            "version_tenths": tenths,
            "updated_at": at,
            "updated_by": actor,
            "deleted": new_deleted,
        }
        conn.execute(update(entities).where(entities.c.id == previous.id).values(**values))
        stored = StoredEntity(
            previous.entity_type,
            previous.id,
            previous.fqn,
            previous.service,
            body,
            token,
            tenths,
            new_deleted,
        )
        search_index.index(conn, stored)
        tag_index.project(conn, stored)
        return stored

    def _seal(
        self,
        entity_type: str,
        body: dict[str, Any],
        stored: connections.Secrets,
        stored_connection: Any,
    ) -> tuple[dict[str, Any], str | None]:
        """The body checked against its model, with its connection's secrets sealed."""
        body = builders.body_of(builders.normalize(entity_type, body))
        connection = body.get("connection")
        if not isinstance(connection, dict):
            return body, None
        redacted, secrets = connections.separate(connection, stored, stored_connection)
        return {**body, "connection": redacted}, connections.seal(self.vault, secrets)

    def _same_secrets(self, token: str | None, old: connections.Secrets) -> bool:
        new = connections.unseal(self.vault, token)
        return sorted(map(repr, new)) == sorted(map(repr, old))
