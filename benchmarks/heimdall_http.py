"""Heimdall's HTTP decision API under load: 50 concurrent keep-alive clients on 127.0.0.1.

Target (Heimdall issue): >= 5,000 decisions/s and p99 <= 5 ms on this 2-core machine.
The load comes from ``wrk`` (Debian package ``wrk``, installed here if missing) so that
the client costs as little CPU as possible; each request is a Trino-style
``POST /v1/data/heimdall/access/allow`` with an input drawn from 200 users x 300
datasets. Baseline in the same run: ``GET /health`` on the same server (the HTTP floor).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "interfaces"))

CONNECTIONS = 50
DURATION_S = 10
USERS = 200
DATASETS = 300
BODIES = 2_000
TARGET_RPS = 5_000

LUA = """
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local n = 0
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "Bearer %(key)s"
wrk.headers["Content-Type"] = "application/json"
%(delay)s
request = function()
  n = n + 1
  if wrk.method == "GET" then return wrk.format(nil, "%(path)s") end
  return wrk.format(nil, "%(path)s", nil, bodies[(n %% #bodies) + 1])
end
"""


def _ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed for this benchmark (apt-get install wrk)")
    return found


def _bodies(path: Path, count: int = BODIES, unique: bool = False) -> None:
    """Request bodies; ``unique`` makes every one distinct (no answer-cache hits)."""
    rng = random.Random(11)
    lines = []
    for number in range(count):
        user = min(int(rng.paretovariate(1.2)), USERS) - 1
        dataset = number if unique else min(int(rng.paretovariate(1.1)), DATASETS) - 1
        team = f"team-{user % 5}"
        tags = [f"users:id:user{user}", f"dataos:workspace:{team}", "roles:id:user"]
        target = (
            f"dataos://lake:{team}/ds{dataset}"
            if dataset % 3
            else f"dataos://workflow:{team}/w{dataset}"
        )
        lines.append(
            json.dumps(
                {
                    "input": {
                        "subject": {"tags": tags},
                        "predicate": "read",
                        "object": {"path": target},
                    }
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")


def _wrk(wrk: str, url: str, script: Path) -> dict[str, float]:
    result = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p99_ms": p99_ms,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 0.0 if socket is None else 1.0,
    }


def _script(
    folder: Path, name: str, method: str, path: str, key: str, bodies: Path, pace_ms: int = 0
) -> Path:
    """A wrk script; with ``pace_ms`` each connection waits that long between requests, so
    50 connections offer about 50 / pace requests per second (latency then excludes the
    wait, and measures the server at that load rather than at saturation)."""
    delay = f"delay = function() return {pace_ms} end" if pace_ms else ""
    script = folder / f"{name}.lua"
    values = {"bodies": bodies, "method": method, "key": key, "path": path, "delay": delay}
    script.write_text(LUA % values)
    return script


def main(workers: int = 2) -> dict[str, float]:
    from conftest import start_server, stop_server

    wrk = _ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        home = folder / "home"
        home.mkdir()
        bodies = folder / "bodies.jsonl"
        _bodies(bodies)
        distinct = folder / "distinct.jsonl"
        _bodies(distinct, count=400_000, unique=True)
        server = start_server(home, command=("heimdall", "serve"), workers=workers)
        try:
            decide = _script(
                folder, "decide", "POST", "/v1/data/heimdall/access/allow", server.api_key, bodies
            )
            paced = _script(
                folder,
                "paced",
                "POST",
                "/v1/data/heimdall/access/allow",
                server.api_key,
                bodies,
                pace_ms=1000 * CONNECTIONS // TARGET_RPS - 1,
            )
            uncached = _script(
                folder,
                "uncached",
                "POST",
                "/v1/data/heimdall/access/allow",
                server.api_key,
                distinct,
            )
            health = _script(folder, "health", "GET", "/health", server.api_key, bodies)
            _wrk(wrk, server.url, decide)
            decisions = _wrk(wrk, server.url, decide)
            at_target = _wrk(wrk, server.url, paced)
            cold = _wrk(wrk, server.url, uncached)
            floor = _wrk(wrk, server.url, health)
        finally:
            stop_server(server)
    print(f"Heimdall HTTP decision API ({CONNECTIONS} keep-alive clients, {workers} workers, wrk)")
    print(
        f"  saturated:  {decisions['rps']:,.0f} decisions/s, p99 {decisions['p99_ms']:.2f} ms, "
        f"non-2xx {decisions['non_2xx']:.0f}  (target >= 5,000/s)"
    )
    print(
        f"  paced to ~{TARGET_RPS:,}/s: {at_target['rps']:,.0f}/s, "
        f"p99 {at_target['p99_ms']:.2f} ms, "
        f"non-2xx {at_target['non_2xx']:.0f}  (target p99 <= 5 ms)"
    )
    print(
        f"  every question new (no answer cache): {cold['rps']:,.0f}/s, p99 {cold['p99_ms']:.2f} ms"
    )
    print(
        f"  baseline GET /health on the same server: {floor['rps']:,.0f}/s, "
        f"p99 {floor['p99_ms']:.2f} ms (decisions reach {decisions['rps'] / floor['rps']:.0%})"
    )
    return {
        "decisions_rps": decisions["rps"],
        "decisions_p99_ms": decisions["p99_ms"],
        "paced_rps": at_target["rps"],
        "paced_p99_ms": at_target["p99_ms"],
    }


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
