"""Pagers: the entry point monitors call when an incident opens or changes.

``dispatch(incident, pagers)`` returns at once: each ``(workspace, Pager)`` becomes a job
of this process's :class:`~dataos_defs.monitor.deliveries.Deliverer` (created on first
use from the environment: the delivery log under ``DATAOS_HOME``, secrets from the store
``DATAOS_DATABASE_URL`` names). Whether a pager's conditions hold is decided by the
worker, so a slow filter never holds up the monitor.

``active_pagers(store)`` reads the pagers to hand to ``dispatch``, with their secret
fields (a literal ``authorization.token`` is kept encrypted in the store and comes back
only when asked).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from dataos_defs.manifest.pager import Pager
from dataos_defs.monitor.deliveries import Deliverer
from dataos_defs.monitor.deliveries_log import DeliveryLog
from dataos_defs.monitor.deliveries_secrets import StoreSecrets
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

MAX_INCIDENT_BYTES = 256 * 1024
MAX_PAGERS = 500
log = logging.getLogger(__name__)


class _Current:
    """This process's deliverer, behind a lock."""

    lock = threading.Lock()
    deliverer: Deliverer | None = None


def dispatch(incident: Mapping[str, Any], pagers: Sequence[tuple[str, Pager]]) -> None:
    """Queue ``incident`` for every pager; never blocks, never raises for one bad pager.

    An incident larger than :data:`MAX_INCIDENT_BYTES` of JSON, or more than
    :data:`MAX_PAGERS` pagers, is refused with a logged error (nothing is sent).
    """
    try:
        size = len(json.dumps(incident, default=str).encode())
    except (TypeError, ValueError) as exc:
        log.error("incident is not JSON (%s): no pager was notified", type(exc).__name__)
        return
    if size > MAX_INCIDENT_BYTES:
        log.error(
            "incident %s has %d bytes of JSON, more than %d: no pager was notified",
            incident.get("id"),
            size,
            MAX_INCIDENT_BYTES,
        )
        return
    if len(pagers) > MAX_PAGERS:
        log.error("%d pagers exceed %d: only the first are notified", len(pagers), MAX_PAGERS)
    deliverer = default_deliverer()
    for workspace, pager in pagers[:MAX_PAGERS]:
        deliverer.submit(workspace, pager, incident)


def default_deliverer() -> Deliverer:
    """This process's deliverer, created on first use from the environment."""
    with _Current.lock:
        if _Current.deliverer is None:
            settings = Settings.from_env()
            _Current.deliverer = Deliverer(
                DeliveryLog.in_home(settings.home),
                StoreSecrets(lambda: Store.open(settings=settings)),
            )
        return _Current.deliverer


def use_deliverer(deliverer: Deliverer | None) -> Deliverer | None:
    """Replace this process's deliverer (tests, or a server configuring its own); returns
    the previous one, which the caller closes."""
    with _Current.lock:
        previous, _Current.deliverer = _Current.deliverer, deliverer
        return previous


def active_pagers(store: Store, workspace: str | None = None) -> list[tuple[str, Pager]]:
    """The pagers of ``workspace`` (all when None) as ``dispatch`` takes them; a stored
    pager that no longer validates is skipped with a warning."""
    found: list[tuple[str, Pager]] = []
    for stored in store.list("pager", workspace):
        full = store.get("pager", stored.name, stored.workspace, unsanitize=True)
        if full is None or full.workspace is None:
            continue
        try:
            found.append((full.workspace, Pager.model_validate(full.manifest)))
        except ValidationError as exc:
            log.warning(
                "pager %s/%s is skipped: %d validation errors",
                full.workspace,
                full.name,
                exc.error_count(),
            )
    return found


def shutdown(timeout: float = 5.0) -> None:
    """Let queued deliveries finish (up to ``timeout``), then stop this process's workers:
    for a server's shutdown hook, so a restart loses no delivery already queued."""
    previous = use_deliverer(None)
    if previous is not None:
        previous.drain(timeout)
        previous.close()
