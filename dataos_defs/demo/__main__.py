"""``python -m dataos_defs.demo start|stop``: the example's database for ``make up``/``down``.

``start`` starts the embedded PostgreSQL of ``DATAOS_HOME`` (idempotent), creates the shop
database and role with the credentials ``resources/secrets.yaml`` reads (``SHOP_PG_USER``,
``SHOP_PG_PASSWORD``, same defaults), seeds it when empty, writes the products CSV and
prints ``export SHOP_PG_HOST=... SHOP_PG_PORT=...`` lines for a shell to ``eval`` before
applying ``resources/``. Progress goes to stderr. ``stop`` exits 3 when nothing ran.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence

from dataos_defs.adapters import embedded_pg
from dataos_defs.demo import shop
from dataos_defs.poros.settings import Settings

DATABASE = "shop"
DEFAULT_USER = "shop"
DEFAULT_PASSWORD = "shop-local-only"
NOTHING_RUNNING = 3


def credentials(environ: dict[str, str] | None = None) -> tuple[str, str]:
    """The shop role as ``resources/secrets.yaml`` interpolates it."""
    env = os.environ if environ is None else environ
    return env.get("SHOP_PG_USER") or DEFAULT_USER, env.get("SHOP_PG_PASSWORD") or DEFAULT_PASSWORD


def start(reset: bool) -> int:
    began = time.monotonic()
    home = Settings.from_env().home
    server = embedded_pg.start(home)
    user, password = credentials()
    embedded_pg.ensure_database(server, DATABASE, user, password)
    data = shop.generate()
    loaded = shop.seed_postgres(
        server.conninfo(user, DATABASE, password=password), data, reset=reset
    )
    csv_path = shop.write_products(home, data)
    what = (
        f"seeded {len(data.customers)} customers and {len(data.orders)} orders"
        if loaded
        else "already seeded"
    )
    print(
        f"PostgreSQL ready at {server.host} (port {server.port}, database {DATABASE}): {what}; "
        f"products in {csv_path} ({time.monotonic() - began:.1f} s)",
        file=sys.stderr,
    )
    print(f"export SHOP_PG_HOST={shlex.quote(server.host)}")
    print(f"export SHOP_PG_PORT={server.port}")
    return 0


def stop() -> int:
    if embedded_pg.stop(Settings.from_env().home):
        print("PostgreSQL stopped")
        return 0
    return NOTHING_RUNNING


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataos_defs.demo", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    begin = verbs.add_parser("start", help="start, create and seed the shop database")
    begin.add_argument("--reset", action="store_true", help="replace the seeded tables")
    verbs.add_parser("stop", help="stop the embedded PostgreSQL")
    args = parser.parse_args(argv)
    return start(args.reset) if args.verb == "start" else stop()


if __name__ == "__main__":
    sys.exit(main())
