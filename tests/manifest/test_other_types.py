"""Cluster, Compute, Secrets, Bundle, Monitor, Pager, Lakehouse, Stack and the minor types."""

from __future__ import annotations

import pytest
from support import assert_invalid, assert_valid_example, valid

from dataos_defs.manifest.base import Reference, ResourceBase
from dataos_defs.manifest.bundle import Bundle
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.others import Database, Lens, ResourceType
from dataos_defs.manifest.pager import Pager
from dataos_defs.manifest.secret import InstanceSecret, Secret
from dataos_defs.manifest.stack import Stack

CLUSTER = """\
name: minervashop
version: v1
type: cluster
cluster:
  compute: query-default
  type: minerva
  maintenance:
    restartCron: '13 1 */2 * *'
    timezone: Europe/Berlin
    scalingCrons:
      - cron: '5/10 * * * *'
        replicas: 3
  minerva:
    replicas: 2
    resources:
      requests: {cpu: 500m, memory: 1Gi}
    depots:
      - address: dataos://shoppg
      - address: dataos://lakehouse:retail
        properties:
          iceberg.file-format: PARQUET
    catalogs:
      - name: cache
        type: memory
        properties: {memory.max-data-per-node: 128MB}
    debug:
      logLevel: INFO
      trinoLogLevel: ERROR
    selector:
      users: ["**"]
      tags: [[roles:id:data-dev], [roles:id:user]]
      sources: [flare/**]
      priority: 10
  dataosSecrets:
    - name: cluster-secrets
      workspace: public
      allKeys: true
"""

THEMIS = """\
name: themis
version: v1
type: cluster
cluster:
  type: themis
  themis:
    themisConf:
      kyuubi.frontend.thrift.binary.bind.host: 0.0.0.0
    spark:
      driver: {memory: 4096M, cores: 1}
      executor: {memory: 4096M, cores: 1, instanceCount: 1, maxInstanceCount: 5}
    depots:
      - address: dataos://lakehouse
"""

COMPUTE = """\
name: runnable-gpu
version: v1beta
type: compute
compute:
  dataplane: hub
  purpose: gpu
  nodePool:
    nodeSelector:
      dataos.io/purpose: gpu
    tolerations:
      - key: dedicated
        operator: Equal
        value: gpu
        effect: NoSchedule
"""

SECRET = """\
name: docker-secrets
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data:
    API_KEY: abc
    PORT: 8080
  files:
    cert: ./cert.pem
"""

INSTANCE_SECRET = """\
name: shoppg-r
version: v1
type: instance-secret
instance-secret:
  type: key-value-properties
  acl: r
  data:
    username: shop
    password: secret
"""

BUNDLE = """\
name: shop-bundle
version: v1beta
type: bundle
bundle:
  schedule:
    initialState: create
    timezone: Asia/Kolkata
    create:
      cron: '31 0 * * *'
  workspaces:
    - name: shop
      labels: {team: data}
  resources:
    - id: depot
      spec:
        name: pg
        version: v1
        type: depot
        depot: {type: POSTGRESQL, spec: {subprotocol: postgresql, host: db, port: 5432}}
    - id: ingest
      workspace: shop
      file: build/ingest.yaml
      dependencies: [depot]
    - id: quality
      file: build/quality.yaml
      dependencyConditions:
        - resourceId: ingest
          status: {is: [active]}
          runtime: {contains: [succeeded]}
"""

EQUATION_MONITOR = """\
name: profile-alerts
version: v1alpha
type: monitor
runAsUser: iamgroot
monitor:
  schedule: '*/5 * * * *'
  timezone: UTC
  type: equation_monitor
  equation:
    leftExpression:
      queryCoefficient: 1
      queryConstant: 0
      query:
        type: trino
        cluster: system
        ql: SELECT count(*) FROM lakehouse.sys.profiles
    rightExpression:
      queryCoefficient: 0
      queryConstant: 80
    operator: greater_than
  incident:
    name: profile-check-fail
    severity: high
    incident_type: profile-quality
    owner_team: data
"""

REPORT_MONITOR = """\
name: workflow-failed
version: v1alpha
type: monitor
monitor:
  schedule: '*/1 * * * *'
  type: report_monitor
  report:
    source:
      dataOsInstance:
        path: /collated/api/v1/reports/resources/runtime?id=workflow:v1:%25:public
    conditions:
      - valueComparison:
          observationType: workflow-runs
          valueJqFilter: '.value[] | .phase'
          operator: equals
          value: failed
  incident:
    name: workflowfailed
    severity: high
    incidentType: workflowruntimefailure
"""

PAGER = """\
name: quality-pager
version: v1alpha
type: pager
pager:
  conditions:
    - valueJqFilter: .properties.name
      operator: equals
      value: soda-check-fail
  output:
    email:
      emailTargets: [iamgroot@tmdc.io]
    webHook:
      url: https://example.com/hook
      verb: POST
      headers: {content-type: application/json}
      bodyTemplate: '{"text": "{{ .CreateTime }}"}'
"""

LAKEHOUSE = """\
name: alphaomega
version: v1alpha
type: lakehouse
lakehouse:
  type: iceberg
  compute: runnable-default
  iceberg:
    storage:
      depotName: alphaomega
      type: s3
      s3:
        bucket: dataos-lakehouse
        relativePath: /test
      secrets:
        - name: alphaomega-r
          allkeys: true
    metastore:
      type: iceberg-rest-catalog
      replicas: 2
    queryEngine:
      type: themis
      themis:
        spark:
          driver: {instanceCount: 1}
"""

STACK = """\
name: bento-v1
version: v1alpha
type: stack
stack:
  name: bento
  version: 1.0
  reconciler: stackManager
  image:
    registry: docker.io
    repository: rubiklabs
    image: bento-ds
    tag: 0.8.28
    auth:
      imagePullSecret: dataos-container-registry
  command: [/opt/dataos/bento-ds]
  arguments: [run, -c, /etc/dataos/config/jobconfig.yaml]
  secretProjection:
    type: envVars
  stackSpecValueSchema:
    jsonSchema: |
      {"type": "object", "required": ["input"]}
  serviceConfig:
    configFileTemplate: |
      jobconfig.yaml: |
      {{ toYaml .ApplicationSpec.StackSpec | indent 2 }}
  dataOsAddressJqFilters:
    - .input.datasets[]
"""

LENS = """\
name: sales360
version: v1alpha
type: lens
lens:
  compute: runnable-default
  secrets:
    - name: bitbucket-r
      allKeys: true
  source:
    type: minerva
    name: system
    catalog: lakehouse
  repo:
    url: https://bitbucket.org/iamgroot/lens
    lensBaseDir: lens/sales360/model
    syncFlags: [--ref=main]
  api:
    replicas: 1
    logLevel: info
    autoScaling: {enabled: true, minReplicas: 1, maxReplicas: 3}
  worker:
    highAvailabilityConfig: {level: hostname, mode: preferred}
"""

OPERATOR = """\
name: adf
version: v1alpha
type: operator
operator:
  components:
    - name: adf-controller
      type: worker
      compute: runnable-default
      image: docker.io/rubiklabs/azure-operator:0.1.5
      replicas: 1
      environmentVars: {LOG_LEVEL: info, METRIC_PORT: 30001}
      ports:
        - {name: metrics, servicePort: 30001, targetPort: 30001}
  resources:
    - name: pipeline-run
      isRunnable: true
      specSchema:
        jsonSchema: '{"type": "object"}'
      natsApi:
        command: {stream: dataos-azure-entities, subject: adf.pipeline.run}
        query: {subject: adf.query, replySubject: dataos.operator.adf.reply}
  enabledWorkspaces: [public]
  natsClusterConfig:
    name: adf-nats
    compute: runnable-default
"""

GRANT = """\
name: test-user-runas
version: v1alpha
type: grant
grant:
  policy_use_case_id: run-as-user
  subjects: [users:id:test-user]
  values:
    run-as-dataos-resource:
      - path: /resources/**
  requester: iamgroot
  notes: needs to run as the developer
  approve: false
"""

DATABASE = """\
name: productdb
version: v1
type: database
database:
  migrate:
    includes: [migration/]
    command: up
  compute: runnable-default
"""

VOLUME = """\
name: scratch
version: v1beta
type: volume
volume:
  size: 1Gi
  accessMode: ReadWriteMany
  type: temp
"""

RESOURCE = """\
name: pipeline-01
version: v1beta
type: resource
resource:
  operator: hightouch-factory
  type: hightouch
  spec:
    model: {name: city-retail-01, queryType: raw_sql}
"""

EXAMPLES = {
    "cluster": CLUSTER,
    "themis": THEMIS,
    "compute": COMPUTE,
    "secret": SECRET,
    "instance-secret": INSTANCE_SECRET,
    "bundle": BUNDLE,
    "equation-monitor": EQUATION_MONITOR,
    "report-monitor": REPORT_MONITOR,
    "pager": PAGER,
    "lakehouse": LAKEHOUSE,
    "stack": STACK,
    "lens": LENS,
    "operator": OPERATOR,
    "grant": GRANT,
    "database": DATABASE,
    "volume": VOLUME,
    "resource": RESOURCE,
}


@pytest.mark.parametrize("text", EXAMPLES.values(), ids=list(EXAMPLES))
def test_valid_examples_validate_match_their_json_schema_and_round_trip(text: str) -> None:
    assert_valid_example(text, ResourceBase)


def test_levels() -> None:
    instance = {"compute", "instance-secret", "bundle", "stack", "operator", "grant"}
    for text in EXAMPLES.values():
        model = valid(text)
        expected = "instance" if model.KIND in instance else "workspace"
        level = model.LEVEL
        assert level == expected, model.KIND


def test_cluster_references_compute_and_depots() -> None:
    cluster = valid(CLUSTER)
    assert isinstance(cluster, Cluster)
    assert cluster.references() == [
        Reference("compute", "query-default", None, ("cluster", "compute")),
        Reference("depot", "shoppg", None, ("cluster", "minerva", "depots", 0, "address")),
        Reference("depot", "lakehouse", None, ("cluster", "minerva", "depots", 1, "address")),
    ]
    assert cluster.cluster.minerva is not None and cluster.cluster.minerva.selector is not None
    assert cluster.cluster.minerva.selector.tags == [["roles:id:data-dev"], ["roles:id:user"]]


def test_secret_values_are_text_and_secret_paths_cover_them() -> None:
    secret = valid(SECRET)
    assert isinstance(secret, Secret)
    assert secret.secret.data == {"API_KEY": "abc", "PORT": "8080"}
    assert secret.secret_paths() == [
        ("secret", "data", "API_KEY"),
        ("secret", "data", "PORT"),
        ("secret", "files", "cert"),
    ]
    instance = valid(INSTANCE_SECRET)
    assert isinstance(instance, InstanceSecret)
    assert instance.secret_paths() == [
        ("instance-secret", "data", "username"),
        ("instance-secret", "data", "password"),
    ]


def test_bundle_order_and_schedule() -> None:
    bundle = valid(BUNDLE)
    assert isinstance(bundle, Bundle)
    assert bundle.order() == ["depot", "ingest", "quality"]
    assert bundle.bundle.schedule is not None
    assert [c.cron for c in bundle.bundle.schedule.create or []] == ["31 0 * * *"]
    assert [path for path, _ in bundle.embedded_manifests()] == [("bundle", "resources", 0, "spec")]


def test_pager_verb_is_normalised() -> None:
    pager = valid(PAGER)
    assert isinstance(pager, Pager) and pager.pager.output.webHook is not None
    assert pager.pager.output.webHook.verb == "post"


def test_stack_reference_and_schema() -> None:
    stack = valid(STACK)
    assert isinstance(stack, Stack)
    assert stack.stack.ref == "bento:1.0"
    assert stack.stack.image is not None
    assert stack.stack.image.reference == "docker.io/rubiklabs/bento-ds:0.8.28"
    assert stack.stack.stackSpecValueSchema is not None
    assert stack.stack.stackSpecValueSchema.parsed() == {"type": "object", "required": ["input"]}


def test_minor_type_references() -> None:
    lens = valid(LENS)
    assert isinstance(lens, Lens)
    assert lens.references() == [
        Reference("compute", "runnable-default", None, ("lens", "compute")),
        Reference("instance-secret", "bitbucket-r", None, ("lens", "secrets", 0, "name")),
    ]
    database = valid(DATABASE)
    assert isinstance(database, Database)
    assert database.references() == [
        Reference("compute", "runnable-default", None, ("database", "compute"))
    ]
    resource = valid(RESOURCE)
    assert isinstance(resource, ResourceType)
    assert resource.references() == [
        Reference("operator", "hightouch-factory", None, ("resource", "operator"))
    ]


CASES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    # cluster
    (
        "cluster-section-missing",
        THEMIS.replace("type: themis", "type: minerva"),
        [
            (5, "cluster.type", "a minerva cluster needs its 'cluster.minerva' section"),
            (6, "cluster.themis", "'cluster.themis' does not apply to a minerva cluster"),
        ],
    ),
    (
        "cluster-hyphen-name",
        CLUSTER.replace("name: minervashop", "name: minerva-shop"),
        [(1, "name", "lower-case letter followed by")],
    ),
    (
        "cluster-bad-type",
        CLUSTER.replace("type: minerva", "type: presto"),
        [(6, "cluster.type", "not allowed")],
    ),
    (
        "cluster-bad-address",
        CLUSTER.replace("dataos://shoppg", "dataos:shoppg"),
        [(18, "cluster.minerva.depots[0].address", "dataos://")],
    ),
    (
        "cluster-bad-scaling-cron",
        CLUSTER.replace("'5/10 * * * *'", "'5/10 * *'"),
        [(11, "cluster.maintenance.scalingCrons[0].cron", "5")],
    ),
    (
        "cluster-selector-priority",
        CLUSTER.replace("priority: 10", "priority: 0"),
        [(33, "cluster.minerva.selector.priority", "greater than or equal to 1")],
    ),
    (
        "cluster-log-level",
        CLUSTER.replace("trinoLogLevel: ERROR", "trinoLogLevel: LOUD"),
        [(28, "cluster.minerva.debug.trinoLogLevel", "not allowed")],
    ),
    (
        "cluster-zero-replicas",
        CLUSTER.replace("replicas: 2", "replicas: 0"),
        [(14, "cluster.minerva.replicas", "greater than or equal to 1")],
    ),
    # compute
    (
        "compute-bad-purpose",
        COMPUTE.replace("purpose: gpu", "purpose: batch"),
        [(6, "compute.purpose", "not allowed")],
    ),
    (
        "compute-exists-with-value",
        COMPUTE.replace("operator: Equal", "operator: Exists"),
        [(13, "compute.nodePool.tolerations[0].value", "operator Exists")],
    ),
    (
        "compute-equal-without-key",
        COMPUTE.replace("      - key: dedicated\n        operator", "      - operator"),
        [(11, "compute.nodePool.tolerations[0]", "without 'key' must use operator: Exists")],
    ),
    (
        "compute-bad-effect",
        COMPUTE.replace("NoSchedule", "Never"),
        [(14, "compute.nodePool.tolerations[0].effect", "not allowed")],
    ),
    (
        "compute-seconds-without-noexecute",
        COMPUTE + "        tolerationSeconds: 30\n",
        [
            (
                15,
                "compute.nodePool.tolerations[0].tolerationSeconds",
                "only applies to effect NoExecute",
            )
        ],
    ),
    # secrets
    ("secret-empty", SECRET[: SECRET.index("  data:")], [(4, "secret", "needs 'data' or 'files'")]),
    (
        "secret-bad-type",
        SECRET.replace("type: key-value", "type: password"),
        [(5, "secret.type", "not allowed")],
    ),
    (
        "instance-secret-under-secret-key",
        INSTANCE_SECRET.replace("instance-secret:", "secret:"),
        [
            (1, "instance-secret", "missing required field 'instance-secret'"),
            (4, "secret", "unknown field 'secret'"),
        ],
    ),
    (
        "secret-value-mapping",
        INSTANCE_SECRET.replace("password: secret", "password: {a: b}"),
        [(9, "instance-secret.data.password", "valid string")],
    ),
    # bundle
    (
        "bundle-duplicate-id",
        BUNDLE.replace("- id: quality", "- id: ingest"),
        [(24, "bundle.resources[2].id", "duplicate resource id 'ingest'")],
    ),
    (
        "bundle-unknown-dependency",
        BUNDLE.replace("dependencies: [depot]", "dependencies: [depo]"),
        [(23, "bundle.resources[1].dependencies[0]", "unknown resource id 'depo'")],
    ),
    (
        "bundle-cycle",
        BUNDLE.replace("dependencies: [depot]", "dependencies: [depot, quality]"),
        [(20, "bundle.resources[1].id", "cycle: ingest -> quality -> ingest")],
    ),
    (
        "bundle-self-dependency",
        BUNDLE.replace("dependencies: [depot]", "dependencies: [ingest]"),
        [(20, "bundle.resources[1].id", "cycle: ingest -> ingest")],
    ),
    (
        "bundle-spec-and-file",
        BUNDLE.replace("    - id: depot\n", "    - id: depot\n      file: x.yaml\n"),
        [(14, "bundle.resources[0]", "exactly one of 'spec' or 'file'")],
    ),
    (
        "bundle-neither-spec-nor-file",
        BUNDLE.replace("      file: build/quality.yaml\n", ""),
        [(24, "bundle.resources[2]", "exactly one of 'spec' or 'file'")],
    ),
    (
        "bundle-condition-unknown-id",
        BUNDLE.replace("resourceId: ingest", "resourceId: ingset"),
        [
            (
                27,
                "bundle.resources[2].dependencyConditions[0].resourceId",
                "unknown resource id 'ingset'",
            )
        ],
    ),
    (
        "bundle-embedded-without-type",
        BUNDLE.replace("        type: depot\n", ""),
        [(15, "bundle.resources[0].spec.type", "missing field 'type'")],
    ),
    (
        "bundle-embedded-unknown-type",
        BUNDLE.replace("        type: depot\n", "        type: depott\n"),
        [(18, "bundle.resources[0].spec.type", "did you mean 'depot'")],
    ),
    (
        "bundle-initial-state",
        BUNDLE.replace("create:\n      cron", "delete:\n      cron"),
        [(6, "bundle.schedule.initialState", "only 'delete' crons are given")],
    ),
    (
        "bundle-is-typo",
        BUNDLE.replace("status: {is: [active]}", "status: {iz: [active]}"),
        [
            (
                28,
                "bundle.resources[2].dependencyConditions[0].status.iz",
                "allowed here: contains, is",
            )
        ],
    ),
    # monitor
    (
        "monitor-section-missing",
        EQUATION_MONITOR.replace("equation_monitor", "report_monitor"),
        [
            (9, "monitor.equation", "'equation' does not apply to a report_monitor"),
            (8, "monitor.type", "a report_monitor needs 'monitor.report'"),
        ],
    ),
    (
        "monitor-bad-type",
        EQUATION_MONITOR.replace("equation_monitor", "metric_monitor"),
        [(8, "monitor.type", "not allowed")],
    ),
    (
        "monitor-no-schedule",
        EQUATION_MONITOR.replace("  schedule: '*/5 * * * *'\n", ""),
        [(5, "monitor", "needs a 'schedule'")],
    ),
    (
        "monitor-trino-without-cluster",
        EQUATION_MONITOR.replace("        cluster: system\n", ""),
        [(13, "monitor.equation.leftExpression.query", "a trino query needs 'cluster'")],
    ),
    (
        "monitor-query-without-ql",
        EQUATION_MONITOR.replace("        ql: SELECT count(*) FROM lakehouse.sys.profiles\n", ""),
        [(13, "monitor.equation.leftExpression.query", "a trino query needs 'ql'")],
    ),
    (
        "monitor-bad-operator",
        EQUATION_MONITOR.replace("operator: greater_than", "operator: bigger"),
        [(20, "monitor.equation.operator", "not allowed")],
    ),
    (
        "monitor-bad-query-type",
        EQUATION_MONITOR.replace("type: trino", "type: mysql"),
        [(14, "monitor.equation.leftExpression.query.type", "not allowed")],
    ),
    (
        "report-without-conditions",
        REPORT_MONITOR[: REPORT_MONITOR.index("    conditions:")],
        [(7, "monitor.report", "a report monitor needs 'conditions'")],
    ),
    (
        "report-empty-condition",
        REPORT_MONITOR.replace(
            "      - valueComparison:\n          observationType: workflow-runs\n          valueJqFilter: '.value[] | .phase'\n          operator: equals\n          value: failed\n",
            "      - {}\n",
        ),
        [(12, "monitor.report.conditions[0]", "needs valueComparison or durationComparison")],
    ),
    (
        "report-source-spelling",
        REPORT_MONITOR.replace("dataOsInstance", "dataOSInstance"),
        [
            (8, "monitor.report.source.dataOsInstance", "missing required field"),
            (9, "monitor.report.source.dataOSInstance", "did you mean 'dataOsInstance'"),
        ],
    ),
    (
        "monitor-bad-schedule",
        REPORT_MONITOR.replace("'*/1 * * * *'", "'*/1 * * *'"),
        [(5, "monitor.schedule", "5")],
    ),
    # pager
    (
        "pager-no-output",
        PAGER[: PAGER.index("  output:")] + "  output: {}\n",
        [(9, "pager.output", "at least one output")],
    ),
    (
        "pager-no-conditions",
        PAGER.replace(
            "  conditions:\n    - valueJqFilter: .properties.name\n      operator: equals\n      value: soda-check-fail\n",
            "  conditions: []\n",
        ),
        [(5, "pager.conditions", "at least 1")],
    ),
    (
        "pager-bad-email",
        PAGER.replace("iamgroot@tmdc.io", "iamgroot"),
        [(11, "pager.output.email.emailTargets[0]", "not an email address")],
    ),
    (
        "pager-bad-url",
        PAGER.replace("https://example.com/hook", "example.com/hook"),
        [(13, "pager.output.webHook.url", "not an http(s) URL")],
    ),
    (
        "pager-bad-verb",
        PAGER.replace("verb: POST", "verb: SEND"),
        [(14, "pager.output.webHook.verb", "not allowed")],
    ),
    (
        "pager-flat-targets",
        PAGER.replace("    email:\n      emailTargets", "    emailTargets"),
        [(10, "pager.output.emailTargets", "unknown field 'emailTargets'")],
    ),
    # lakehouse
    (
        "lakehouse-storage-mismatch",
        LAKEHOUSE.replace("type: s3", "type: gcs"),
        [
            (11, "lakehouse.iceberg.storage.s3", "does not apply to storage of type gcs"),
            (10, "lakehouse.iceberg.storage.type", "storage type gcs needs 'storage.gcs'"),
        ],
    ),
    (
        "lakehouse-engine-section",
        LAKEHOUSE.replace("type: themis", "type: minerva"),
        [
            (
                22,
                "lakehouse.iceberg.queryEngine.themis",
                "'themis' does not apply to a minerva query engine",
            )
        ],
    ),
    (
        "lakehouse-bad-depot-name",
        LAKEHOUSE.replace("depotName: alphaomega", "depotName: alpha-omega"),
        [(9, "lakehouse.iceberg.storage.depotName", "lower-case letter followed by")],
    ),
    (
        "lakehouse-missing-compute",
        LAKEHOUSE.replace("  compute: runnable-default\n", ""),
        [(4, "lakehouse.compute", "missing required field 'compute'")],
    ),
    # stack
    (
        "stack-no-orchestrator",
        STACK.replace(
            "  serviceConfig:\n    configFileTemplate: |\n      jobconfig.yaml: |\n      {{ toYaml .ApplicationSpec.StackSpec | indent 2 }}\n",
            "",
        ),
        [(4, "stack", "at least one of workflowJobConfig, serviceConfig, workerConfig")],
    ),
    (
        "stack-schema-not-json",
        STACK.replace('{"type": "object", "required": ["input"]}', "{type: object}"),
        [(20, "stack.stackSpecValueSchema.jsonSchema", "not a JSON object")],
    ),
    (
        "stack-jq-filter",
        STACK.replace("- .input.datasets[]", "- input.datasets[]"),
        [(27, "stack.dataOsAddressJqFilters[0]", "not a jq path")],
    ),
    (
        "stack-no-image",
        STACK.replace(STACK[STACK.index("  image:") : STACK.index("  command:")], ""),
        [(4, "stack", "needs an 'image' unless it renders a resourceTemplate")],
    ),
    (
        "stack-bad-projection",
        STACK.replace("type: envVars", "type: files"),
        [(18, "stack.secretProjection.type", "not allowed")],
    ),
    # minor types
    (
        "lens-bad-source",
        LENS.replace("type: minerva", "type: presto"),
        [(10, "lens.source.type", "not allowed")],
    ),
    (
        "lens-missing-repo",
        LENS[: LENS.index("  repo:")],
        [(4, "lens.repo", "missing required field 'repo'")],
    ),
    (
        "operator-duplicate-component",
        OPERATOR.replace(
            "  resources:",
            "    - name: adf-controller\n      type: worker\n      compute: c\n      image: i\n  resources:",
        ),
        [(14, "operator.components[1].name", "duplicate component name 'adf-controller'")],
    ),
    (
        "operator-bad-component-type",
        OPERATOR.replace("type: worker", "type: job"),
        [(7, "operator.components[0].type", "not allowed")],
    ),
    (
        "grant-no-subjects",
        GRANT.replace("subjects: [users:id:test-user]", "subjects: []"),
        [(6, "grant.subjects", "at least 1")],
    ),
    (
        "database-bad-command",
        DATABASE.replace("command: up", "command: sideways"),
        [(7, "database.migrate.command", "not allowed")],
    ),
    (
        "database-nothing-to-migrate",
        DATABASE.replace("    includes: [migration/]\n", ""),
        [(5, "database.migrate", "needs 'includes'")],
    ),
    (
        "volume-bad-access-mode",
        VOLUME.replace("ReadWriteMany", "ReadWriteAll"),
        [(6, "volume.accessMode", "not allowed")],
    ),
    ("volume-bad-size", VOLUME.replace("size: 1Gi", "size: big"), [(5, "volume.size", "quantity")]),
    (
        "resource-missing-spec",
        RESOURCE[: RESOURCE.index("  spec:")],
        [(4, "resource.spec", "missing required field 'spec'")],
    ),
]


@pytest.mark.parametrize(("case", "text", "expect"), CASES, ids=[c[0] for c in CASES])
def test_invalid_manifest(case: str, text: str, expect: list[tuple[int, str, str]]) -> None:
    assert_invalid(text, expect)
