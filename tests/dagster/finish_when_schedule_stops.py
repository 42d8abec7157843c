"""The command of a job that completes the moment its schedule is stopped.

``python finish_when_schedule_stops.py URL SCHEDULE MARKER`` creates the file ``MARKER``,
then asks the Dagster webserver at ``URL`` every 20 ms for the state of a schedule of the
``dataos`` location and exits 0 as soon as it is ``STOPPED``, 1 after :data:`PATIENCE_S`.
Reconciliation ends a workflow by stopping its schedule, then terminating its runs in
flight: a run of this job succeeds while its termination is asked. Standard library only: it runs as a job's local subprocess, which
does not inherit the test's environment.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

PATIENCE_S = 120.0
QUERY = """
query State($selector: InstigationSelector!) {
  instigationStateOrError(instigationSelector: $selector) {
    ... on InstigationState { status }
  }
}"""


def schedule_status(url: str, schedule: str) -> str | None:
    selector = {
        "repositoryLocationName": "dataos",
        "repositoryName": "__repository__",
        "name": schedule,
    }
    body = json.dumps({"query": QUERY, "variables": {"selector": selector}})
    request = urllib.request.Request(
        f"{url}/graphql", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        state = json.load(response)["data"]["instigationStateOrError"]
    return state.get("status")


def main(url: str, schedule: str, marker: str) -> int:
    deadline = time.monotonic() + PATIENCE_S
    Path(marker).touch()
    while time.monotonic() < deadline:
        if schedule_status(url, schedule) == "STOPPED":
            return 0
        time.sleep(0.02)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
