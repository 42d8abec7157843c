"""``python -m dataos_defs.poros.supervisor stop``: stop every embedded Service and Worker
replica of ``$DATAOS_HOME`` (what ``make down`` runs after stopping the API server; while an
API server still supervises, it refuses and says so)."""

from __future__ import annotations

import sys

from dataos_defs.poros.settings import Settings
from dataos_defs.poros.supervisor.core import Supervisor

STOP_TIMEOUT_S = 60.0


def main(argv: list[str]) -> int:
    if argv != ["stop"]:
        print("usage: python -m dataos_defs.poros.supervisor stop", file=sys.stderr)
        return 2
    supervisor = Supervisor(None, Settings.from_env().home)
    try:
        if supervisor.stop_everything(timeout=STOP_TIMEOUT_S):
            print("every Service and Worker replica is stopped")
            return 0
    finally:
        supervisor.close()
    print(
        "could not stop every replica: an API server still supervises them (stop it first), "
        f"or some did not exit within {STOP_TIMEOUT_S:.0f} s",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
