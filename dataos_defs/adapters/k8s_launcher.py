"""Kubernetes execution of compiled workflows: the ``K8sRunLauncher`` and the step executor.

Two levels, as in DataOS where every job of a workflow runs in its own pod:

* The **run launcher** (:func:`build_run_launcher`, or ``run_launcher`` in
  ``deploy/dagster/dagster.yaml``) starts one Kubernetes Job per Dagster run. Its pod is the
  run worker: it only orchestrates, so it gets the small defaults of :data:`RUN_RESOURCES`.
* The **step executor** :func:`step_executor` (``dagster_k8s.k8s_job_executor``) starts one
  Kubernetes Job per step. A compiled DataOS job is one op, so each DataOS job gets its own
  pod, sized and placed by the ``dagster-k8s/config`` op tag the compiler derives from
  ``spec.resources``, ``envs``, ``dataosSecrets`` and the Compute's node pool. Job-level
  ``dagster-k8s/config`` tags reach the run worker only, never the step pods; that is why
  the compiler puts the manifest's asks on the op.

Step pods inherit the launcher's namespace, service account, ``env_secrets`` and
:data:`RUN_K8S_CONFIG`. dagster-k8s merges that config with each op tag *deeply*
(``merge_behavior: DEEP``, its default; the launcher's ``resources`` field is folded into the
same config), so a step's resources are the defaults with the manifest's amounts laid over
them, key by key. Default *limits* would therefore meet a manifest's larger *requests*
(``requests: {memory: 8Gi}`` under a default 1Gi limit) and the API server would refuse the
pod; the defaults are requests only. A manifest that gives a limit below a default request
and no request for it (``limits: {cpu: 100m}``) still conflicts: the compiler should then set
the request to the limit, as Kubernetes does when no default applies.

The user code deployment's image (``DAGSTER_CURRENT_IMAGE`` in the Helm chart) wins over
``job_image``, which only serves runs launched from a location without an image.

The executor only works under a ``K8sRunLauncher`` (Dagster refuses it otherwise), so the
embedded default keeps Dagster's multiprocess executor and production selects
:func:`step_executor` when building the code location's Definitions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import ExecutorDefinition
from dagster_k8s import K8sRunLauncher, k8s_job_executor

RUN_MODE = "DATAOS_RUN_MODE=k8s"
"""Set in run pods: steps run in their own pods (definitions.jobs_executor) and container
jobs through PipesK8sClient (stacks.container.pipes.run_mode)."""

NAMESPACE_ENV = "DATAOS_K8S_JOB_NAMESPACE"
IMAGE_ENV = "DATAOS_K8S_JOB_IMAGE"
SERVICE_ACCOUNT_ENV = "DATAOS_K8S_SERVICE_ACCOUNT"
ENV_SECRETS_ENV = "DATAOS_K8S_ENV_SECRETS"
MAX_CONCURRENT_STEPS_ENV = "DATAOS_K8S_MAX_CONCURRENT_STEPS"

DEFAULT_IMAGE = "registry.example.com/dataos/dataos-defs:0.1.0"
"""The project's image; the user code deployment in ``values.yaml`` runs the same one."""

RUNTIME_SECRET = "dataos-runtime"
"""Kubernetes Secret every run and step pod loads with ``envFrom``: ``DATAOS_DATABASE_URL``
and ``DATAOS_SECRET_KEY``, so executors can read depots and decrypt instance-secrets when a
job runs (the compiled Definitions never hold a secret value)."""

RUN_RESOURCES: dict[str, Any] = {"requests": {"cpu": "250m", "memory": "512Mi"}}
"""Requests of the run worker and of every step, under the amounts its manifest gives;
no limits (see above). Caps come from the namespace's LimitRange and ResourceQuota."""

RUN_K8S_CONFIG: dict[str, Any] = {
    "container_config": {"resources": RUN_RESOURCES},
    "pod_template_spec_metadata": {
        "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
    },
    "job_spec_config": {"ttl_seconds_after_finished": 86400, "backoff_limit": 0},
}
"""Defaults for every pod a run starts. The autoscaler must not evict a pod mid-run (Dagster
would see a lost worker); finished Jobs stay a day for ``kubectl logs``; Dagster retries
steps itself (``spec.retry``), so Kubernetes never restarts a failed pod."""


def _names(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return default
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class K8sSettings:
    """Where and as whom runs start; the defaults match ``deploy/dagster/values.yaml``.

    ``instance_config_map``, ``postgres_password_secret`` and ``dagster_home`` are the names
    the Dagster Helm chart gives them for a release called ``dagster``.
    """

    job_namespace: str = "dataos"
    job_image: str = DEFAULT_IMAGE
    service_account_name: str = "dagster"
    env_secrets: tuple[str, ...] = (RUNTIME_SECRET,)
    instance_config_map: str = "dagster-instance"
    postgres_password_secret: str = "dagster-postgresql-secret"
    dagster_home: str = "/opt/dagster/dagster_home"
    labels: Mapping[str, str] = field(default_factory=lambda: {"dataos.io/platform": "dataos"})
    max_concurrent_steps: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> K8sSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        steps = env.get(MAX_CONCURRENT_STEPS_ENV)
        return cls(
            job_namespace=env.get(NAMESPACE_ENV) or defaults.job_namespace,
            job_image=env.get(IMAGE_ENV) or defaults.job_image,
            service_account_name=env.get(SERVICE_ACCOUNT_ENV) or defaults.service_account_name,
            env_secrets=_names(env.get(ENV_SECRETS_ENV), defaults.env_secrets),
            max_concurrent_steps=int(steps) if steps else defaults.max_concurrent_steps,
        )


def launcher_config(settings: K8sSettings) -> dict[str, Any]:
    """The ``run_launcher.config`` block of ``dagster.yaml`` for ``settings`` (in-cluster)."""
    config: dict[str, Any] = {
        "job_namespace": settings.job_namespace,
        "job_image": settings.job_image,
        "service_account_name": settings.service_account_name,
        "instance_config_map": settings.instance_config_map,
        "postgres_password_secret": settings.postgres_password_secret,
        "dagster_home": settings.dagster_home,
        "env_secrets": list(settings.env_secrets),
        "env_vars": [RUN_MODE],
        "labels": dict(settings.labels),
        "image_pull_policy": "IfNotPresent",
        "run_k8s_config": RUN_K8S_CONFIG,
    }
    return config


def build_run_launcher(
    settings: K8sSettings,
    *,
    kubeconfig_file: str | None = None,
    batch_api: Any = None,
    core_api: Any = None,
) -> K8sRunLauncher:
    """A ``K8sRunLauncher`` for ``settings``, in-cluster unless a kubeconfig file is given.

    ``batch_api``/``core_api`` replace the Kubernetes API clients (tests capture Jobs
    with them). The launcher must still be registered on an instance (``register_instance``)
    before it can launch, which ``dagster.yaml`` does when the instance loads it.
    """
    config = launcher_config(settings)
    return K8sRunLauncher(
        load_incluster_config=kubeconfig_file is None,
        kubeconfig_file=kubeconfig_file,
        k8s_client_batch_api=batch_api,
        k8s_client_core_api=core_api,
        **config,
    )


def step_executor(settings: K8sSettings) -> ExecutorDefinition:
    """``k8s_job_executor``: one Kubernetes Job per step, i.e. per DataOS workflow job.

    Everything else (namespace, image, secrets, defaults) comes from the run launcher; only
    the per-run step concurrency is set here.
    """
    return k8s_job_executor.configured(
        {"max_concurrent": settings.max_concurrent_steps}, name="dataos_k8s"
    )
