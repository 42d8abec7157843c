"""Spine I targets: lint 1,000 manifests <= 2 s; apply 100 through the API on SQLite <= 3 s."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from generate import write_product_set

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "dataos_defs.cli"]
sys.path.insert(0, str(ROOT / "tests" / "interfaces"))


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def _yaml_only(folder: Path) -> float:
    start = time.perf_counter()
    for path in sorted(folder.glob("*.yaml")):
        list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - start


def bench_lint(work: Path) -> dict[str, float]:
    folder = write_product_set(work / "lint", 1000)
    env = dict(os.environ)
    runs = [_timed([*CLI, "lint", "-f", str(folder)], env) for _ in range(3)]
    startup = min(_timed([*CLI, "--help"], env) for _ in range(3))
    return {
        "lint_1000_s": min(runs),
        "cli_startup_s": startup,
        "yaml_parse_only_1000_s": _yaml_only(folder),
    }


def bench_apply(work: Path) -> dict[str, float]:
    from conftest import start_server

    folder = write_product_set(work / "apply", 100)
    home = work / "home"
    home.mkdir()
    server = start_server(home)
    try:
        env = server.env()
        first = _timed([*CLI, "apply", "-f", str(folder)], env)
        unchanged = _timed([*CLI, "apply", "-f", str(folder)], env)
        health = _timed([*CLI, "workspace", "get"], env)
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
    return {"apply_100_s": first, "reapply_100_unchanged_s": unchanged, "cli_roundtrip_s": health}


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        figures = {**bench_lint(work), **bench_apply(work)}
    print("Spine I")
    print(
        f"  lint 1,000 manifests (CLI, wall):      {figures['lint_1000_s']:.2f} s  (target <= 2 s)"
    )
    print(f"    of which CLI start-up:               {figures['cli_startup_s']:.2f} s")
    print(
        f"    baseline: YAML parsing alone:        {figures['yaml_parse_only_1000_s']:.2f} s "
        f"(lint/parse ratio {figures['lint_1000_s'] / figures['yaml_parse_only_1000_s']:.1f}x)"
    )
    print(
        f"  apply 100 manifests via API (SQLite):  {figures['apply_100_s']:.2f} s  (target <= 3 s)"
    )
    print(f"    re-apply, all unchanged:             {figures['reapply_100_unchanged_s']:.2f} s")
    print(f"    baseline: one CLI round trip:        {figures['cli_roundtrip_s']:.2f} s")
    return figures


if __name__ == "__main__":
    main()
