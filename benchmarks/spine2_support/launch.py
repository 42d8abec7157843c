"""Launch-to-success of a 3-job workflow under the embedded launcher, DataOS vs hand-written.

One real ``dagster dev`` (webserver + daemon, ``DefaultRunLauncher``, SQLite instance in a
temporary ``DAGSTER_HOME``, as ``make up`` configures it) loads a temporary workspace with
two code locations: ``dataos`` (the platform's, compiled from a Poros store holding one
applied workflow of three chained jobs on the trivial stack) and ``handwritten``
(:mod:`spine2_support.hand_location`: three chained assets, as an asset job with Dagster's
default executor and as one with the forkserver executor settings DataOS uses). Runs are
launched through GraphQL, rotating the sides so that drift of the machine hits all.

Every process runs with byte-compiled modules, as on any machine where Python may write
its ``__pycache__`` (a deployed image has them too); they are kept in a temporary
``PYTHONPYCACHEPREFIX``, so the figures do not depend on ``PYTHONDONTWRITEBYTECODE``.

Each run's events split launch-to-success into the wait in the run queue (until the
daemon's next dequeue tick, up to ``dequeue_interval_seconds``, 5 s by default: the same
for every location, and most of the spread between runs) and the rest, from the run
starting to its success (run worker and step processes: what a code location changes).
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, DagsterGraphQLError
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dagster"))

from dagster_support import DAGSTER, Dagster, dagster_env, stop_dagster  # noqa: E402

WORKFLOW = """\
name: launch-bench
version: v1
type: workflow
description: three chained jobs that only log
workflow:
  dag:
    - name: first
      spec: {stack: python3, compute: runnable-default, stackSpec: {}}
    - name: second
      dependencies: [first]
      spec: {stack: python3, compute: runnable-default, stackSpec: {}}
    - name: third
      dependencies: [second]
      spec: {stack: python3, compute: runnable-default, stackSpec: {}}
"""
WORKSPACE = """\
load_from:
  - python_module:
      module_name: dataos_defs.location.definitions
      attribute: defs
      location_name: dataos
      working_directory: {root}
  - python_file:
      relative_path: {hand}
      attribute: defs
      location_name: handwritten
      working_directory: {root}
"""
SIDES = {
    "dataos": ("dataos", "public__launch_bench"),
    "handwritten": ("handwritten", "hand_chain"),
    "handwritten_forkserver": ("handwritten", "hand_chain_forkserver"),
}
"""Side -> the code location and the job launched in it."""
LOCATIONS = {"dataos": "public__launch_bench", "handwritten": "hand_chain"}
"""Code location -> a job that shows it loaded."""
RUN_EVENTS = """
query RunEvents($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection { events { __typename ... on MessageEvent { timestamp } } }
    ... on Error { message }
  }
}"""
READY_TIMEOUT = 120.0
RUN_TIMEOUT = 120.0
POLL = 0.2
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


LOAD_SNIPPET = """\
import sys
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._grpc.server import LoadedRepositories
kind, target = sys.argv[1:]
LoadedRepositories(LoadableTargetOrigin(**{kind: target, "attribute": "defs"}), None, [], None)
"""
"""What every run worker and step process of a location does first: load its code."""


@dataclass(frozen=True)
class Run:
    """One launch: seconds from the launch request to the run seen SUCCESS, and the part of
    it from the run starting (the daemon dequeued it) to its success."""

    total_s: float
    started_s: float

    @property
    def queued_s(self) -> float:
        return self.total_s - self.started_s


@dataclass
class LaunchFigures:
    runs: dict[str, list[Run]] = field(default_factory=lambda: {s: [] for s in SIDES})
    warmup_s: dict[str, float] = field(default_factory=dict)
    """The first launch of each side after start-up, which pays one-off costs (not counted)."""
    process_load_s: dict[str, float] = field(default_factory=dict)
    """Wall time of a fresh process that loads the location (best of 2)."""
    startup_s: float = 0.0

    def median(self, side: str, part: str = "total_s") -> float:
        return statistics.median(getattr(run, part) for run in self.runs[side])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _apply_workflow(home: Path) -> None:
    folder = home / "manifests"
    folder.mkdir(parents=True)
    (folder / "launch-bench.yaml").write_text(WORKFLOW)
    parsed = parse_documents(load_documents([folder]))
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(home)})) as store:
        apply_resources(store, parsed, None, "bench")


def _start(home: Path, env: dict[str, str]) -> Dagster:
    """``dagster dev`` on the two-location workspace, in its own process group."""
    workspace = home / "workspace.yaml"
    workspace.write_text(WORKSPACE.format(root=ROOT, hand=HERE / "hand_location.py"))
    port = _free_port()
    log = home / "dagster.log"
    process = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Dagster(f"http://127.0.0.1:{port}", process, log)


def _wait_loaded(dagster: Dagster) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = dict(LOCATIONS)
    while pending and time.monotonic() < deadline:
        if dagster.process.poll() is not None:
            raise RuntimeError(f"dagster dev exited:\n{dagster.log.read_text()[-3000:]}")
        for location, job in list(pending.items()):
            with DagsterGraphQL(dagster.url, location=location, timeout=10) as client:
                try:
                    state = client.location_state()
                except DagsterGraphQLError:
                    continue
            if state.load_status == "LOADED":
                if job not in state.jobs:
                    raise RuntimeError(f"location {location} has no job {job}: {state.error}")
                del pending[location]
        time.sleep(0.5)
    if pending:
        raise RuntimeError(f"locations {sorted(pending)} not loaded in {READY_TIMEOUT:.0f} s")


def _process_load(env: dict[str, str]) -> dict[str, float]:
    """The per-process price of each location: a run pays it once per process it starts."""
    targets = {
        "dataos": ("module_name", "dataos_defs.location.definitions"),
        "handwritten": ("python_file", str(HERE / "hand_location.py")),
    }
    best = {location: float("inf") for location in targets}
    for _ in range(2):
        for location, (kind, target) in targets.items():
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", LOAD_SNIPPET, kind, target],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
            best[location] = min(best[location], time.perf_counter() - start)
    return best


def _event_times(client: DagsterGraphQL, run_id: str) -> dict[str, float]:
    """The first time (epoch seconds) of each kind of event of a run."""
    answer = client.execute(RUN_EVENTS, {"runId": run_id})["logsForRun"]
    times: dict[str, float] = {}
    for event in answer.get("events") or []:
        if event.get("timestamp"):
            times.setdefault(event["__typename"], float(event["timestamp"]) / 1000)
    return times


def _launch_to_success(dagster: Dagster, side: str) -> Run:
    """Wall time from the launch request until the run is seen SUCCESS (polled every 0.2 s)."""
    location, job = SIDES[side]
    with DagsterGraphQL(dagster.url, location=location, timeout=30) as client:
        launched = time.time()
        start = time.perf_counter()
        run_id = client.launch_run(job, tags={"bench": "spine2"})
        deadline = time.monotonic() + RUN_TIMEOUT
        status = client.run_status(run_id)
        while status not in TERMINAL and time.monotonic() < deadline:
            time.sleep(POLL)
            status = client.run_status(run_id)
        elapsed = time.perf_counter() - start
        if status != "SUCCESS":
            events = [event.message for event in client.logs(run_id)][-10:]
            raise RuntimeError(f"run {run_id} of {side} ended {status}: {events}")
        starting = _event_times(client, run_id).get("RunStartingEvent", launched)
    return Run(elapsed, elapsed - (starting - launched))


def _bytecode_env(env: dict[str, str], work: Path) -> dict[str, str]:
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def measure(work: Path, repeat: int = 5) -> LaunchFigures:
    """One warm-up launch per side, then ``repeat`` per side, rotating which goes first."""
    home = work / "launch"
    home.mkdir(parents=True)
    _apply_workflow(home)
    figures = LaunchFigures()
    env = dagster_env(
        home,
        DATAOS_EXECUTORS="spine2_support.trivial_stack:EXECUTORS",
        PYTHONPATH=str(HERE.parent),
    )
    env = _bytecode_env(env, work)
    started = time.perf_counter()
    dagster = _start(home, env)
    try:
        _wait_loaded(dagster)
        figures.startup_s = time.perf_counter() - started
        order = list(SIDES)
        for side in order:
            figures.warmup_s[side] = _launch_to_success(dagster, side).total_s
        for round_ in range(repeat):
            shift = round_ % len(order)
            for side in order[shift:] + order[:shift]:
                figures.runs[side].append(_launch_to_success(dagster, side))
    finally:
        stop_dagster(dagster)
    figures.process_load_s = _process_load(env)
    return figures
