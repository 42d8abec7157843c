"""Service and Worker manifests: ports, ingress, replicas, scaling and their stack specs."""

from __future__ import annotations

import pytest
from support import assert_one_issue_at, line_of, one_issue, replace_once, valid

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.stacks import ContainerSpec, FlareSpec
from dataos_defs.manifest.worker import Worker

SERVICE = """\
name: orders-api
version: v1
type: service
tags: [api]
service:
  title: Orders API
  replicas: 2
  servicePort: 8080
  servicePorts:
    - {name: metrics, servicePort: 9090}
  ingress:
    enabled: true
    path: /orders/api/v1
    stripPath: true
    noAuthentication: false
  autoScaling:
    enabled: true
    minReplicas: 2
    maxReplicas: 5
    targetCPUUtilizationPercentage: 70
  highAvailabilityConfig: {level: zone, mode: preferred}
  stack: beacon+rest
  compute: runnable-default
  envs: {PGRST_OPENAPI_SERVER_PROXY_URI: 'https://example.dataos.app/orders/api/v1'}
  dataosSecrets:
    - {name: orders-db, workspace: public, keys: [password]}
  beacon:
    source: {type: database, name: ordersdb, workspace: public}
  topology:
    - {name: database, type: input, doc: orders database}
    - {name: rest-api, type: output, dependencies: [database]}
"""


def test_service_validates_with_the_legacy_stack_key() -> None:
    service = valid(SERVICE)
    assert isinstance(service, Service)
    spec = service.service
    assert spec.stack_spec_key == "beacon"
    assert spec.stack_spec == {
        "source": {"type": "database", "name": "ordersdb", "workspace": "public"}
    }
    assert spec.ingress is not None and spec.ingress.path == "/orders/api/v1"
    assert spec.auto_scaling is not None and spec.auto_scaling.maxReplicas == 5
    assert service.references() == [
        Reference("compute", "runnable-default", None, ("service", "compute")),
        Reference("stack", "beacon", None, ("service", "stack")),
        Reference("secret", "orders-db", "public", ("service", "dataosSecrets", 0, "name")),
    ]
    assert service.produced_datasets() == [] and service.secret_paths() == []


def test_replicas_default_to_one() -> None:
    service = valid(SERVICE.replace("  replicas: 2\n", ""))
    assert isinstance(service, Service) and service.service.replicas == 1


SERVICE_CASES = [
    (
        "servicePort: 8080",
        "servicePort: 80800",
        "80800",
        "service.servicePort",
        "less than or equal to 65535",
    ),
    (
        "servicePort: 9090",
        "servicePort: 0",
        "metrics",
        "service.servicePorts[0].servicePort",
        "greater than or equal to 1",
    ),
    ("    path: /orders/api/v1\n", "", "ingress:", "service.ingress", "needs 'path'"),
    (
        "path: /orders/api/v1",
        "path: orders",
        "path: orders",
        "service.ingress.path",
        "must start with '/'",
    ),
    (
        "maxReplicas: 5",
        "maxReplicas: 1",
        "maxReplicas",
        "service.autoScaling.maxReplicas",
        "below minReplicas (2)",
    ),
    (
        "level: zone",
        "level: rack",
        "highAvailabilityConfig",
        "service.highAvailabilityConfig.level",
        "'rack' is not allowed",
    ),
    (
        "  replicas: 2\n",
        "  replicas: -1\n",
        "replicas",
        "service.replicas",
        "greater than or equal to 0",
    ),
    (
        "  stack: beacon+rest\n",
        "  stack: beacon+rest\n  stackSpec: {}\n",
        "  beacon:",
        "service.beacon",
        "given twice",
    ),
    ("version: v1", "version: v1beta", "version", "version", "'v1beta' is not allowed"),
    (
        "    enabled: true\n    path",
        "    enabeld: true\n    path",
        "enabeld",
        "service.ingress.enabeld",
        "did you mean 'enabled'?",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "fragment"), SERVICE_CASES, ids=[c[3] for c in SERVICE_CASES]
)
def test_invalid_service(old: str, new: str, needle: str, path: str, fragment: str) -> None:
    assert_one_issue_at(replace_once(SERVICE, old, new), needle, path, fragment)


def test_autoscaling_spelt_both_ways_is_rejected() -> None:
    text = SERVICE.replace(
        "  highAvailability", "  autoscaling: {minReplicas: 1}\n  highAvailability"
    )
    assert one_issue(text) == (
        line_of(text, "autoscaling:"),
        "service.autoscaling",
        "autoscaling is given twice: as 'autoScaling' and 'autoscaling'",
        None,
    )


CONTAINER_SERVICE = """\
name: report-ui
version: v1
type: service
service:
  servicePort: 8501
  ingress: {enabled: true, path: /report}
  stack: container
  envs: {LOG_LEVEL: info}
  stackSpec:
    image: registry.example.com/report-ui:1.0
    imagePullSecret: registry-pull
    command: [streamlit]
    arguments: [run, app.py, --server.port, 8501]
"""


def test_container_spec_and_its_pull_secret() -> None:
    service = valid(CONTAINER_SERVICE)
    assert isinstance(service, Service)
    spec = service.service.stack_spec
    assert isinstance(spec, ContainerSpec) and spec.arguments == [
        "run",
        "app.py",
        "--server.port",
        "8501",
    ]
    assert (
        Reference("secret", "registry-pull", None, ("service", "stackSpec", "imagePullSecret"))
        in service.references()
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message", "hint"),
    [
        (
            "    image: registry.example.com/report-ui:1.0\n",
            "",
            "stackSpec:",
            "service.stackSpec.image",
            "missing required field 'image'",
            None,
        ),
        (
            "imagePullSecret:",
            "imagePullSecrets:",
            "imagePullSecrets",
            "service.stackSpec.imagePullSecrets",
            "unknown field 'imagePullSecrets' in a container stackSpec; "
            "did you mean 'imagePullSecret'?",
            None,
        ),
        (
            "  stackSpec:",
            "  alpha:",
            "alpha:",
            "service.alpha",
            "'alpha:' would hold the spec of the alpha stack, but this spec runs 'container'; "
            "write the stack's configuration under 'stackSpec'",
            None,
        ),
    ],
)
def test_invalid_container_spec(
    old: str, new: str, needle: str, path: str, message: str, hint: str | None
) -> None:
    text = CONTAINER_SERVICE.replace(old, new, 1)
    assert one_issue(text) == (line_of(text, needle), path, message, hint)


WORKER = """\
name: events-sink
version: v1beta
type: worker
worker:
  title: Events to lakehouse
  replicas: 1
  autoscaling: {enabled: true, minReplicas: 1, maxReplicas: 3}
  highAvailabilityConfig: {level: hostname, mode: required, tags: [events]}
  stack: flare:7.0
  logLevel: DEBUG
  stackSpec:
    sparkConf: {spark.sql.shuffle.partitions: 4}
    job:
      streaming: {triggerMode: ProcessingTime, checkpointLocation: /tmp/cp/events}
      inputs:
        - {name: events, dataset: 'dataos://stream:default/events', isStream: true}
      outputs:
        - {name: events, dataset: 'dataos://lakehouse:raw/events?acl=rw', isStream: true}
"""


def test_worker_accepts_both_autoscaling_spellings_and_typed_stacks() -> None:
    worker = valid(WORKER)
    assert isinstance(worker, Worker)
    assert worker.worker.auto_scaling is not None and worker.worker.auto_scaling.maxReplicas == 3
    spec = worker.worker.stack_spec
    assert isinstance(spec, FlareSpec) and spec.spark_conf == {"spark.sql.shuffle.partitions": 4}
    path = ("worker", "stackSpec", "job", "outputs", 0, "dataset")
    assert worker.produced_datasets() == [("dataos://lakehouse:raw/events", path)]
    assert Reference("depot", "stream", None, (*path[:-3], "inputs", 0, "dataset")) in (
        worker.references()
    )
    camel = valid(WORKER.replace("autoscaling:", "autoScaling:"))
    assert isinstance(camel, Worker) and camel.worker.autoScaling is not None


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "fragment"),
    [
        (
            "  replicas: 1\n",
            "  replicas: 1\n  servicePort: 80\n",
            "servicePort",
            "worker.servicePort",
            "unknown field 'servicePort'",
        ),
        (
            "  replicas: 1\n",
            "  replicas: 1\n  ingress: {enabled: false}\n",
            "ingress",
            "worker.ingress",
            "unknown field 'ingress'",
        ),
        ("version: v1beta", "version: v1", "version", "version", "'v1' is not allowed"),
        (
            "mode: required",
            "mode: strict",
            "mode: strict",
            "worker.highAvailabilityConfig.mode",
            "'strict' is not allowed",
        ),
        (
            "{name: events, dataset: 'dataos://lakehouse",
            "{name: event, dataset: 'dataos://lakehouse",
            "name: event,",
            "worker.stackSpec.job.outputs[0].name",
            "output 'event' names no input or step (did you mean 'events'?)",
        ),
    ],
)
def test_invalid_worker(old: str, new: str, needle: str, path: str, fragment: str) -> None:
    assert_one_issue_at(replace_once(WORKER, old, new), needle, path, fragment)
