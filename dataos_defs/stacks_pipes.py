"""The ``container`` (and ``alpha``) stack: run a job's image through Dagster Pipes.

Two modes, chosen by ``DATAOS_RUN_MODE``:

* ``embedded`` (default): ``command + arguments`` run as a local subprocess through a
  :class:`dagster.PipesSubprocessClient`. There is no container engine here, so the command
  runs in the code location's environment, where DataOS would run it inside ``image``; the
  image is only recorded in metadata. A job without ``command`` relies on the image's
  entrypoint and cannot run this way.
* ``k8s``: :class:`dagster_k8s.PipesK8sClient` starts a pod with the image in the namespace
  of :class:`~dataos_defs.adapters.k8s_launcher.K8sSettings`, sized, placed and given its
  secret references by the ``dagster-k8s/config`` op tag the compiler derived from
  ``spec.resources``, ``envs``, ``dataosSecrets`` and the Compute's node pool.

The child sees ``spec.envs`` and ``DATAOS_WORKSPACE``/``DATAOS_WORKFLOW``/``DATAOS_JOB``.
Locally it does not inherit the code location's environment beyond :data:`INHERITED_ENV`:
that environment holds the platform's own secrets (``DATAOS_DATABASE_URL``,
``DATAOS_SECRET_KEY``), which a container of DataOS never sees. ``secrets`` and
``dataosSecrets`` are not resolved locally (only named in a warning); on Kubernetes they are
secret references in the pod, resolved by the kubelet.

A process that calls ``dagster_pipes.open_dagster_pipes()`` can log and report
materializations; their metadata lands on the job's asset (its ``dataos/<ws>/<wf>/<job>``
marker). A process that does not is still recorded, with its exit code.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from subprocess import PIPE, Popen
from typing import IO, TYPE_CHECKING, Any

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    OpExecutionContext,
    PipesClientCompletedInvocation,
    PipesSubprocessClient,
    open_pipes_session,
)
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster_pipes import PipesExtras

from dataos_defs.compile import CheckOutput, JobContext, StackOutput
from dataos_defs.compile.k8s import K8S_CONFIG_TAG
from dataos_defs.manifest.stacks import ContainerSpec

if TYPE_CHECKING:
    from dataos_defs.adapters.k8s_launcher import K8sSettings

RUN_MODE_ENV = "DATAOS_RUN_MODE"
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
"""What a local child takes from the code location's environment: enough to find programs
and write temporary files, nothing that configures the platform."""
STDERR_TAIL_LINES = 20


class ContainerExitError(RuntimeError):
    """The job's process (or pod) ended in failure; retried according to ``spec.retry``."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_mode(environ: Mapping[str, str] | None = None) -> str:
    """``embedded`` or ``k8s`` (``DATAOS_RUN_MODE``)."""
    env = os.environ if environ is None else environ
    mode = (env.get(RUN_MODE_ENV) or "embedded").strip().lower()
    if mode not in ("embedded", "k8s"):
        raise ValueError(f"{RUN_MODE_ENV} must be 'embedded' or 'k8s', not '{mode}'")
    return mode


def job_env(job: JobContext) -> dict[str, str]:
    """``spec.envs`` as strings, plus the names of the job."""
    env = {key: _text(value) for key, value in ((job.spec and job.spec.envs) or {}).items()}
    env.update(
        {"DATAOS_WORKSPACE": job.workspace, "DATAOS_WORKFLOW": job.workflow, "DATAOS_JOB": job.job}
    )
    return env


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class LocalSubprocessClient(PipesSubprocessClient):
    """``PipesSubprocessClient`` with a clean environment and the tail of stderr kept.

    The parent class passes its whole ``os.environ`` to the child and, when asked to capture
    output, never drains the pipes; this one forwards stderr line by line (so it still shows
    in the step's logs) and keeps the last lines for the failure message.
    """

    def run(  # type: ignore[override]
        self,
        *,
        context: OpExecutionContext | AssetExecutionContext,
        extras: PipesExtras | None = None,
        command: str | Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> PipesClientCompletedInvocation:
        with open_pipes_session(
            context=context,
            context_injector=self.context_injector,
            message_reader=self.message_reader,
            extras=extras,
        ) as session:
            process = Popen(
                command,
                cwd=cwd or self.cwd,
                env={**self.env, **(env or {}), **session.get_bootstrap_env_vars()},
                stderr=PIPE,
            )
            tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
            assert process.stderr is not None
            reader = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True)
            reader.start()
            try:
                code = process.wait()
            except DagsterExecutionInterruptedError:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=self.termination_timeout_seconds)
                raise
            finally:
                reader.join(timeout=5)
            if code != 0:
                lines = "".join(tail).rstrip() or "(empty)"
                raise ContainerExitError(
                    f"command exited with code {code}; last lines of stderr:\n{lines}", code
                )
        return PipesClientCompletedInvocation(session)


def _drain(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        sys.stderr.write(line)
        tail.append(line)
    stream.close()


def _container_spec(job: JobContext) -> ContainerSpec:
    if not isinstance(job.stack_spec, ContainerSpec):
        raise TypeError(f"job '{job.job}' of workflow '{job.workflow}' has no container stackSpec")
    return job.stack_spec


def _run_local(
    context: AssetExecutionContext, job: JobContext, spec: ContainerSpec
) -> PipesClientCompletedInvocation:
    if not spec.command:
        raise ContainerExitError(
            f"job '{job.job}' gives no command: the entrypoint of image '{spec.image}' only "
            f"runs on Kubernetes ({RUN_MODE_ENV}=k8s)"
        )
    runtime = job.spec
    refs = (
        [*(runtime.secrets or []), *(s.name for s in runtime.dataosSecrets or [])]
        if runtime
        else []
    )
    if refs:
        context.log.warning(
            f"secrets {', '.join(refs)} are not provided to the process in embedded mode"
        )
    base = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    client = LocalSubprocessClient(env=base)
    return client.run(
        context=context, command=[*spec.command, *(spec.arguments or [])], env=job_env(job)
    )


def _op_k8s_config(context: AssetExecutionContext) -> dict[str, Any]:
    """The job's ``dagster-k8s/config`` op tag (Dagster may hold it as JSON text)."""
    value: Any = context.op_execution_context.op_def.tags.get(K8S_CONFIG_TAG) or {}
    parsed = json.loads(value) if isinstance(value, str) else value
    return dict(parsed)


def pod_request(
    job: JobContext, k8s_config: Mapping[str, Any], settings: K8sSettings
) -> dict[str, Any]:
    """The arguments of ``PipesK8sClient.run`` for ``job`` (all but ``context``).

    The container takes the op tag's ``container_config`` (resources, env, secret refs,
    mounts) and the pod its ``pod_spec_config`` (node selector, tolerations, volumes), as a
    step pod of the same job would. The tag leaves out plain ``envs`` whose names look
    secret, because tags are stored with runs; the pod gets them, as it would in DataOS.
    """
    from dataos_defs.adapters.k8s_launcher import RUN_K8S_CONFIG

    spec = _container_spec(job)
    container: dict[str, Any] = dict(k8s_config.get("container_config") or {})
    if spec.arguments:
        container["args"] = list(spec.arguments)
    pod_spec: dict[str, Any] = {**(k8s_config.get("pod_spec_config") or {})}
    pod_spec["containers"] = [container]
    if spec.imagePullSecret:
        pod_spec["image_pull_secrets"] = [{"name": spec.imagePullSecret}]
    tagged = (k8s_config.get("pod_template_spec_metadata") or {}).get("labels") or {}
    annotations = RUN_K8S_CONFIG["pod_template_spec_metadata"]["annotations"]
    env = job_env(job)
    in_tag = {entry.get("name") for entry in container.get("env") or []}
    return {
        "image": spec.image,
        "command": list(spec.command) if spec.command else None,
        "namespace": settings.job_namespace,
        "env": {k: v for k, v in env.items() if k not in in_tag},
        "base_pod_meta": {
            "labels": {**settings.labels, **tagged},
            "annotations": dict(annotations),
        },
        "base_pod_spec": pod_spec,
    }


def _run_k8s(context: AssetExecutionContext, job: JobContext) -> PipesClientCompletedInvocation:
    """Dagster-k8s is imported here: only a code location running on Kubernetes needs it."""
    from dagster_k8s import PipesK8sClient
    from dagster_k8s.client import DagsterK8sError

    from dataos_defs.adapters.k8s_launcher import K8sSettings

    request = pod_request(job, _op_k8s_config(context), K8sSettings.from_env())
    try:
        return PipesK8sClient().run(context=context, **request)
    except DagsterK8sError as exc:
        raise ContainerExitError(f"pod of image '{request['image']}' failed: {exc}") from exc


def _outputs(
    job: JobContext, results: Sequence[MaterializeResult[Any] | AssetCheckResult]
) -> tuple[dict[AssetKey, dict[str, Any]], list[CheckOutput]]:
    """Reported materializations merged per asset, and reported checks."""
    by_key: dict[AssetKey, dict[str, Any]] = {}
    checks: list[CheckOutput] = []
    single = job.outputs[0] if len(job.outputs) == 1 else None
    for result in results:
        key = result.asset_key or single
        if key is None:
            raise ContainerExitError("the process reported a result without an asset key")
        if isinstance(result, AssetCheckResult):
            checks.append(
                CheckOutput(
                    key,
                    result.check_name or "",
                    result.passed,
                    dict(result.metadata or {}),
                    "WARN" if result.severity.value == "WARN" else "ERROR",
                )
            )
        else:
            by_key.setdefault(key, {}).update(result.metadata or {})
    return by_key, checks


def run_container(
    context: AssetExecutionContext, job: JobContext
) -> Iterator[StackOutput | CheckOutput]:
    """Run a container job and report what its process reported through Pipes."""
    spec = _container_spec(job)
    mode = run_mode()
    if job.dry_run:
        context.log.info(f"dry run: image '{spec.image}' not started")
        return
    invocation = _run_k8s(context, job) if mode == "k8s" else _run_local(context, job, spec)
    reported, checks = _outputs(job, invocation.get_results())
    common: dict[str, Any] = {
        "dataos/image": spec.image,
        "dataos/command": [*(spec.command or []), *(spec.arguments or [])],
        "dataos/run_mode": mode,
        "dataos/exit_code": 0,
    }
    for key in job.outputs:
        yield StackOutput(key, {**common, **reported.pop(key, {})})
    for key, metadata in reported.items():
        yield StackOutput(key, metadata)
    yield from checks
