"""``python terraform/main.py --model MODEL.json --out DIR``, as ``dataos-ctl kernel synth`` runs it.

For each cloud, on the example's kernel model: the printed line (stacks in apply order, the
output directory), the stack directories CDKTF writes, and the dependency recorded in
``manifest.json``. The AWS synthesis is also measured (wall time, CPU time, peak memory of the
child processes: Python and the jsii Node runtime) and the numbers printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataos_defs.kernel.model import CLOUDS

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "terraform" / "main.py"
SNAPSHOTS = Path(__file__).parent / "snapshots"
# Synthesis of the full AWS platform: CPU seconds of all processes (wall time depends on how
# busy the machine is; it is printed, and is about the CPU time on an idle machine).
AWS_CPU_BUDGET_S = 10.0
# Runs main.py and reports the resources its process tree used (children waited for).
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                  "cpu_s": used.ru_utime + used.ru_stime, "peak_mb": used.ru_maxrss / 1024}))
"""


def run_main(cloud: str, out: Path) -> tuple[dict, float]:
    env = {k: v for k, v in os.environ.items() if k != "DATAOS_KERNEL_MODEL"}
    command = [sys.executable, str(MAIN), "--model", str(SNAPSHOTS / f"model-{cloud}.json")]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    assert report["rc"] == 0, report["stderr"]
    return report, wall


@pytest.mark.parametrize("cloud", CLOUDS)
def test_main_synthesizes_the_cluster_then_the_platform(cloud, tmp_path) -> None:
    out = tmp_path / "kernel" / "out"
    report, wall = run_main(cloud, out)
    printed = report["stdout"].strip().splitlines()
    assert len(printed) == 1, report["stdout"]
    stacks = ["dataos-cluster", "dataos-platform"]
    assert json.loads(printed[0]) == {"stacks": stacks, "outdir": str(out)}
    assert "end-of-life" not in report["stderr"]
    for stack in stacks:
        assert (out / "stacks" / stack / "cdk.tf.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stacks"]["dataos-cluster"]["dependencies"] == []
    assert manifest["stacks"]["dataos-platform"]["dependencies"] == ["dataos-cluster"]
    chart = out / "stacks" / "dataos-platform" / "assets" / "dataos-resources-chart"
    assert [p.name for p in chart.glob("*/templates/resources.yaml")] == ["resources.yaml"]
    if cloud == "aws":
        print(
            f"\nAWS synthesis (cluster + platform): wall {wall:.1f} s, "
            f"CPU {report['cpu_s']:.1f} s, peak memory {report['peak_mb']:.0f} MB"
        )
        assert report["cpu_s"] <= AWS_CPU_BUDGET_S


def test_main_reads_the_model_from_the_environment_for_the_cdktf_cli(tmp_path) -> None:
    """``cdktf synth`` runs ``python main.py`` (terraform/cdktf.json) with no arguments."""
    cdktf = json.loads((ROOT / "terraform" / "cdktf.json").read_text())
    assert (cdktf["app"], cdktf["language"]) == ("python main.py", "python")
    env = {**os.environ, "DATAOS_KERNEL_MODEL": str(SNAPSHOTS / "model-gcp.json")}
    env["CDKTF_OUTDIR"] = str(tmp_path / "cdktf.out")
    done = subprocess.run(
        [sys.executable, "main.py"],
        check=False,
        cwd=ROOT / "terraform",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outdir"] == str(tmp_path / "cdktf.out")
    assert (tmp_path / "cdktf.out" / "stacks" / "dataos-platform" / "cdk.tf.json").is_file()


def test_main_without_a_model_says_how_to_give_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATAOS_KERNEL_MODEL"}
    done = subprocess.run(
        [sys.executable, str(MAIN)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--model MODEL.json or set DATAOS_KERNEL_MODEL" in done.stderr
