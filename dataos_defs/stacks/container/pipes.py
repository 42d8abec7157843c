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
``dataosSecrets`` are secret references in a pod, resolved by the kubelet; locally a
``secret_env`` resolver gives those consumed as ``envVars`` to the child (under ``envs``),
never to a log, metadata or the Definitions; without one they are named in a warning.

A failure raises :class:`ContainerExitError` with the exit code and the tail of stderr, or
of a pod's log and its ``terminated.exitCode``, read before the pod is deleted (tested
against a stand-in for ``kubernetes.client.CoreV1Api``: no Kubernetes API runs here).

A process that calls ``dagster_pipes.open_dagster_pipes()`` can log and report
materializations; their metadata lands on the job's asset (its ``dataos/<ws>/<wf>/<job>``
marker). A process that does not is still recorded, with its exit code.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from dataos_defs.manifest.common import RuntimeSpec, env_text
from dataos_defs.manifest.stacks import ContainerSpec

if TYPE_CHECKING:
    from dataos_defs.adapters.k8s_launcher import K8sSettings

RUN_MODE_ENV = "DATAOS_RUN_MODE"
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
"""What a local child takes from the code location's environment: enough to find programs
and write temporary files, nothing that configures the platform."""
STDERR_TAIL_LINES = 20
POD_LOG_REQUEST_LINES = 200
"""Log lines read from a failed pod: the Pipes messages among them are left out."""
_PIPES_MESSAGE = '{"__dagster_pipes_version"'
ENV_CONSUMPTION = (None, "envVars")

SecretEnvResolver = Callable[[RuntimeSpec, str], Mapping[str, str]]
"""(spec, workspace) -> the variables of the Secrets a job consumes (as ``envVars``)."""


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
    env = {key: env_text(value) for key, value in ((job.spec and job.spec.envs) or {}).items()}
    env.update(
        {"DATAOS_WORKSPACE": job.workspace, "DATAOS_WORKFLOW": job.workflow, "DATAOS_JOB": job.job}
    )
    return env


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


def _secret_variables(
    context: AssetExecutionContext, job: JobContext, resolver: SecretEnvResolver | None
) -> Mapping[str, str]:
    """The variables the job's Secrets give it locally; only names and counts are logged."""
    runtime = job.spec
    if runtime is None:
        return {}
    refs = [*(runtime.secrets or []), *(s.name for s in runtime.dataosSecrets or [])]
    if resolver is not None:
        as_files = [
            s for s in runtime.dataosSecrets or [] if s.consumptionType not in ENV_CONSUMPTION
        ]
        refs = [s.name for s in as_files]
    if refs:
        context.log.warning(
            f"secrets {', '.join(refs)} are not provided to the process in embedded mode"
        )
    values = resolver(runtime, job.workspace) if resolver is not None else {}
    if values:
        context.log.info(f"{len(values)} environment variables provided from secrets")
    return values


def _run_local(
    context: AssetExecutionContext,
    job: JobContext,
    spec: ContainerSpec,
    secret_env: SecretEnvResolver | None,
) -> PipesClientCompletedInvocation:
    if not spec.command:
        raise ContainerExitError(
            f"job '{job.job}' gives no command: the entrypoint of image '{spec.image}' only "
            f"runs on Kubernetes ({RUN_MODE_ENV}=k8s)"
        )
    env = {**_secret_variables(context, job, secret_env), **job_env(job)}
    base = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    client = LocalSubprocessClient(env=base)
    return client.run(context=context, command=[*spec.command, *(spec.arguments or [])], env=env)


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


@functools.cache
def pod_keeping_client() -> type[Any]:
    """``PipesK8sClient`` recording the pod it starts (it names it), so that its caller can read
    a pod's log before deleting it (the container and scanner stacks use it). Defined on first
    use: dagster-k8s is slow to import."""
    from dagster_k8s import PipesK8sClient

    class PodKeepingK8sClient(PipesK8sClient):
        started: tuple[Any, str, str] | None = None

        def consume_pod_logs(self, *args: Any, **kwargs: Any) -> Any:
            """Called by ``run`` once the pod is created."""
            signature = inspect.signature(PipesK8sClient.consume_pod_logs)
            call = signature.bind(self, *args, **kwargs).arguments
            self.started = (call["client"], call["namespace"], call["pod_name"])
            return super().consume_pod_logs(*args, **kwargs)

    return PodKeepingK8sClient


def _run_k8s(context: AssetExecutionContext, job: JobContext) -> PipesClientCompletedInvocation:
    from dagster_k8s.client import DagsterK8sError

    from dataos_defs.adapters.k8s_launcher import K8sSettings

    request = pod_request(job, _op_k8s_config(context), K8sSettings.from_env())
    pipes = pod_keeping_client()()
    try:
        return pipes.run(context=context, delete_pod_on_completion=False, **request)
    except DagsterK8sError as exc:
        raise _pod_failure(context, pipes.started, request["image"], exc) from exc
    finally:
        if pipes.started is not None:
            client, namespace, name = pipes.started
            try:
                client.core_api.delete_namespaced_pod(name, namespace)
            except Exception as exc:  # the step's own outcome matters more than the cleanup
                context.log.warning(f"could not delete pod {name} in {namespace}: {exc}")


def _pod_failure(
    context: AssetExecutionContext, started: tuple[Any, str, str] | None, image: str, error: Any
) -> ContainerExitError:
    """A failed pod's exit code and log tail, when the pod can still be read; otherwise
    dagster-k8s' own account of the failure."""
    failed = ContainerExitError(f"pod of image '{image}' failed: {error}")
    if started is None:
        return failed
    client, namespace, name = started
    try:
        pod = client.core_api.read_namespaced_pod(name, namespace)
        container, code, reason = _failed_container(pod)
        if container is None or code is None:
            return failed
        log = client.retrieve_pod_logs(
            name, namespace, container_name=container, tail_lines=POD_LOG_REQUEST_LINES
        )
    except Exception as detail:  # explaining a failure must never hide it
        context.log.warning(f"could not read the status and log of pod {name}: {detail}")
        return failed
    why = f" ({reason})" if reason and reason != "Error" else ""
    return ContainerExitError(
        f"pod {name} of image '{image}' exited with code {code}{why}; last lines of its "
        f"log:\n{_log_tail(log) or '(empty)'}",
        code,
    )


def _failed_container(pod: Any) -> tuple[str | None, int | None, str | None]:
    """(name, exit code, reason) of the first container that terminated in failure."""
    for status in pod.status.container_statuses or []:
        terminated = status.state.terminated if status.state else None
        if terminated is not None and terminated.exit_code != 0:
            return status.name, int(terminated.exit_code), terminated.reason
    return None, None, None


def _log_tail(log: str) -> str:
    """The last lines of a pod's log, without the Pipes messages the process wrote to it."""
    lines = [line for line in log.splitlines() if not line.lstrip().startswith(_PIPES_MESSAGE)]
    return "\n".join(lines[-STDERR_TAIL_LINES:]).rstrip()


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
    context: AssetExecutionContext,
    job: JobContext,
    *,
    secret_env: SecretEnvResolver | None = None,
) -> Iterator[StackOutput | CheckOutput]:
    """Run a container job and report what its process reported through Pipes.

    ``secret_env`` gives a local process its Secrets (Kubernetes resolves them itself); the
    code location passes :func:`dataos_defs.poros.secret_env.store_secret_env`.
    """
    spec = _container_spec(job)
    mode = run_mode()
    if job.dry_run:
        context.log.info(f"dry run: image '{spec.image}' not started")
        return
    if mode == "k8s":
        invocation = _run_k8s(context, job)
    else:
        invocation = _run_local(context, job, spec, secret_env)
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
