"""Metis beside Poros in the API server: catalog tags drive masks, Resources are cataloged.

:func:`start` (from the app's lifespan) does two things:

* attaches the catalog's column tags (``metis.tag_index.CatalogColumnTags``) to Heimdall,
  so that Heimdall's Trino documents and the Gateway (which follows Heimdall's change
  marker) mask by them within their freshness interval (a second);
* starts a thread that follows the store's newest revision (every apply and delete adds
  one, whichever process made it) and catalogs depots and workflows
  (``metis.poros_sync``): everything once at start, then what changed. Poros itself stays
  free of Metis (an import-linter contract).
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from dataos_defs.heimdall.service import Heimdall
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.poros_sync import PorosSync
from dataos_defs.metis.tag_index import CatalogColumnTags
from dataos_defs.poros.store import Store

POLL_SECONDS = 0.5
BATCH = 200
"""Resources cataloged per round: a start over 10,000 workflows shares the store's write
lock with everything else instead of holding it in one long burst."""
STOP_TIMEOUT_S = 5.0
log = logging.getLogger(__name__)


class Follower:
    """The thread cataloging Poros' changes."""

    def __init__(self, sync: PorosSync, store: Store) -> None:
        self.sync = sync
        self.store = store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metis-poros-sync", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        seen: object = None
        while not self._stop.is_set():
            try:
                revision = self.store.listing_marker()[0]  # every apply and delete adds one
                if revision != seen and self.sync.sync(limit=BATCH) < BATCH:
                    seen = revision
            except Exception:
                log.exception("the catalog could not follow Poros")
            self._stop.wait(POLL_SECONDS)


def start(app: FastAPI, store: Store, heimdall: Heimdall) -> None:
    heimdall.attach_column_tags(CatalogColumnTags(store.engine))
    catalog: Catalog = app.state.metis_catalog
    app.state.metis_sync = Follower(PorosSync(store, catalog), store).start()


def stop(app: FastAPI) -> None:
    follower: Follower | None = getattr(app.state, "metis_sync", None)
    if follower is not None:
        follower.stop()
