"""Typed stack specs: Flare, Soda (and its SodaCL grammar), Scanner; Container: with services."""

from __future__ import annotations

import re
import textwrap

import pytest
from support import assert_one_issue_at, replace_once, reported, valid_as

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.stacks import FlareSpec, ScannerSpec, SodaSpec
from dataos_defs.manifest.stacks.sodacl import Threshold, parse_check
from dataos_defs.manifest.workflow import Workflow


def spec_of(text: str) -> object:
    """The stack spec of the first job of the workflow ``text``, which must validate."""
    spec = valid_as(text, Workflow).workflow.dag[0].spec
    assert spec is not None
    return spec.stack_spec


def job(stack: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec), " " * 10)
    return (
        "name: wf\nversion: v1\ntype: workflow\nworkflow:\n  dag:\n    - name: j\n      spec:\n"
        f"        stack: {stack}\n        compute: runnable-default\n        stackSpec:\n{body}"
    )


FLARE_SPEC = """\
driver: {coreLimit: 1000m, cores: 1, memory: 1024m}
executor: {coreLimit: 2, cores: 2, instances: 2, memory: 2g}
sparkConf: [{spark.sql.shuffle.partitions: 8}]
job:
  explain: true
  logLevel: WARN
  showPreviewLines: 5
  inputs:
    - name: orders
      dataset: dataos://lakehouse:sales/orders
      format: Iceberg
      incremental:
        context: inc
        sql: select * from inc where ts > '$|start|'
        keys: [{name: start, sql: select max(ts) from lakehouse.sales.orders_daily}]
        state: [{key: start, value: start}]
    - name: customers
      query: select * from shoppg.public.customers
      options: {cluster: minerva, driver: io.trino.jdbc.TrinoDriver}
    - {name: remote, inputType: bigquery, bigquery: {table: t, dataset: d, projectId: p}}
  steps:
    - sequence:
        - name: joined
          sql: select * from orders join customers using (customer_id)
          functions:
            - {name: rename_all, columns: {cust_name: customer_name}}
            - {name: change_case, case: lower, column: customer_name}
        - {name: daily, sqlFile: sql/daily.sql}
        - {name: cleaned, functions: [{name: drop, columns: [tmp]}]}
  outputs:
    - name: daily
      dataset: dataos://lakehouse:sales?acl=rw
      format: iceberg
      tags: [sales]
      options:
        saveMode: Append
        sort: {mode: global, columns: [{name: day, order: DESC}]}
        iceberg:
          properties: {write.format.default: parquet}
          merge: {onClause: old.id = new.id, whenClause: matched then update set *}
          partitionSpec:
            - {type: identity, column: region}
            - {type: day, column: ts, name: day}
            - {type: bucket, column: id, numBuckets: 8}
            - {type: truncate, column: sku, width: 4}
    - title: Joined orders
      name: joined
      dataset: dataos://lakehouse:sales/joined?acl=rw
      assertions:
        - {column: amount, tests: [avg > 10, missing_count < 5]}
  assertions:
    - {column: customer_id, validFormat: {regex: '^C[0-9]+$'}, tests: [invalid_count = 0]}
    - {sql: select count(*) as n from joined, tests: [n > 0]}
  actions:
    - {name: expire_snapshots, input: orders, options: {olderThanMillis: '1700000000000'}}
  streaming: {triggerMode: ProcessingTime, triggerDuration: 10 seconds, outputMode: Append}
  profile: {level: basic, filters: [{type: expression, expression: region = 'EU'}]}
"""
FLARE = job("flare:7.0", FLARE_SPEC)


def test_flare_spec_validates_and_normalises() -> None:
    spec = spec_of(FLARE)
    assert isinstance(spec, FlareSpec)
    orders, customers, remote = spec.job.inputs
    assert orders.format == "iceberg" and remote.connector_names == ["bigquery"]
    assert customers.cluster_name == ("minerva", ("options", "cluster"))
    daily, joined = spec.job.outputs or []
    assert daily.options is not None and daily.options.saveMode == "append"
    assert joined.options is None and daily.address == "dataos://lakehouse:sales/daily"
    assert spec.spark_conf == {"spark.sql.shuffle.partitions": 8}
    assert [t.metric for t in spec.job.assertions[1].parsed_tests] == ["n"]  # type: ignore[index]


def test_flare_references_and_produced_datasets() -> None:
    model, _ = reported(FLARE, Workflow)
    assert model is not None
    at = ("workflow", "dag", 0, "spec", "stackSpec", "job")
    refs = [r for r in model.references() if r.kind in {"depot", "cluster"}]
    assert refs == [
        Reference("depot", "lakehouse", None, (*at, "inputs", 0, "dataset")),
        Reference("cluster", "minerva", None, (*at, "inputs", 1, "options", "cluster")),
        Reference("depot", "lakehouse", None, (*at, "outputs", 0, "dataset")),
        Reference("depot", "lakehouse", None, (*at, "outputs", 1, "dataset")),
    ]
    assert [d for d, _ in model.produced_datasets()] == [
        "dataos://lakehouse:sales/daily",
        "dataos://lakehouse:sales/joined",
    ]


INPUT = "job.inputs[{}]"
# (old, new, needle locating the line, path below the spec, fragment of message or hint)
FLARE_CASES = [
    (
        "dataset: dataos://lakehouse:sales/orders",
        "dataset: dataos:lakehouse:sales/orders",
        "dataos:lakehouse",
        INPUT.format(0) + ".dataset",
        "scheme is written 'dataos://'",
    ),
    (
        "      query: select",
        "      dataset: dataos://pg:public/c\n      query: select",
        "- name: customers",
        INPUT.format(1),
        "either 'dataset' or 'query', not both",
    ),
    (
        "      query: select * from shoppg.public.customers\n",
        "",
        "- name: customers",
        INPUT.format(1),
        "needs 'dataset' (a UDL) or 'query'",
    ),
    (
        "inputType: bigquery",
        "inputType: kafka",
        "inputType",
        INPUT.format(2) + ".inputType",
        "needs a 'kafka:' block",
    ),
    (
        "format: Iceberg",
        "format: parqet",
        "parqet",
        INPUT.format(0) + ".format",
        "'parqet' is not allowed",
    ),
    (
        "          sql: select *",
        "          sqlFile: x.sql\n          sql: select *",
        "sqlFile: x",
        "job.steps[0].sequence[0].sqlFile",
        "either 'sql' or 'sqlFile'",
    ),
    (
        "functions: [{name: drop, columns: [tmp]}]",
        "doc: nothing to do",
        "name: cleaned",
        "job.steps[0].sequence[2]",
        "needs 'sql' or 'sqlFile'",
    ),
    (
        "name: change_case",
        "name: chnage_case",
        "chnage_case",
        "job.steps[0].sequence[0].functions[1].name",
        "did you mean 'change_case'",
    ),
    (
        "saveMode: Append",
        "saveMode: upsert",
        "saveMode",
        "job.outputs[0].options.saveMode",
        "'upsert' is not allowed",
    ),
    (
        "{type: identity,",
        "{type: week,",
        "type: week",
        "job.outputs[0].options.iceberg.partitionSpec[0].type",
        "'week' is not allowed",
    ),
    (
        ", numBuckets: 8}",
        "}",
        "type: bucket",
        "job.outputs[0].options.iceberg.partitionSpec[2]",
        "needs 'numBuckets'",
    ),
    (
        ", width: 4}",
        "}",
        "type: truncate",
        "job.outputs[0].options.iceberg.partitionSpec[3]",
        "needs 'width'",
    ),
    (
        "dataset: dataos://lakehouse:sales?acl=rw",
        "dataset: dataos://lakehouse?acl=rw",
        "lakehouse?acl",
        "job.outputs[0].dataset",
        "at least depot and collection",
    ),
    (
        "      dataset: dataos://lakehouse:sales/joined?acl=rw\n",
        "",
        "- title: Joined",
        "job.outputs[1]",
        "an output needs 'dataset'",
    ),
    (
        "tests: [avg > 10,",
        "tests: [avgg > 10,",
        "avgg",
        "job.outputs[1].assertions[0].tests[0]",
        "unknown assertion metric 'avgg'; did you mean 'avg'?",
    ),
    (
        "missing_count < 5]",
        "missing_count about 5]",
        "about",
        "job.outputs[1].assertions[0].tests[1]",
        "is not a test",
    ),
    (
        "{sql: select count(*)",
        "{column: n, sql: select count(*)",
        "{column: n,",
        "job.assertions[1].sql",
        "either a 'column' or the result of 'sql'",
    ),
    (
        "name: expire_snapshots",
        "name: expire_snapshot",
        "expire_snapshot,",
        "job.actions[0].name",
        "did you mean 'expire_snapshots'",
    ),
    ("memory: 1024m}", "memory: plenty}", "plenty", "driver.memory", "Spark memory size"),
    ("coreLimit: 2,", "coreLimit: two,", "two", "executor.coreLimit", "Kubernetes quantity"),
    (
        "        context: inc",
        "        context: inc\n        contexts: [inc]",
        "contexts",
        "job.inputs[0].incremental.contexts",
        "did you mean 'context'?",
    ),
    (
        "mode: global",
        "mode: local",
        "mode: local",
        "job.outputs[0].options.sort.mode",
        "'local' is not allowed",
    ),
    (
        "dataset: dataos://lakehouse:sales/joined",
        "datset: dataos://lakehouse:sales/joined",
        "datset",
        "job.outputs[1].datset",
        "unknown field 'datset'",
    ),
    (
        "      name: joined\n      dataset",
        "      name: joinde\n      dataset",
        "joinde",
        "job.outputs[1].name",
        "output 'joinde' names no input or step (did you mean 'joined'?)",
    ),
    (
        "input: orders,",
        "input: order,",
        "input: order,",
        "job.actions[0].input",
        "action input 'order' is not an input of this job (did you mean 'orders'?)",
    ),
    (
        "name: expire_snapshots",
        "name: delete_from_dataset",
        "delete_from",
        "job.actions[0]",
        "delete_from_dataset needs 'deleteWhere'",
    ),
]


SODA_SPEC = """\
inputs:
  - dataset: dataos://lakehouse:retail/customer
    options: {engine: Minerva, clusterName: quality}
    filter: {name: adults, where: age >= 18}
    profile: {columns: [customer_id, exclude email]}
    checks:
      - row_count between 10 and 1000
      - missing_count(email) = 0:
          name: Email present
          attributes: {title: Emails, category: Completeness}
      - invalid_percent(phone) < 1 %:
          valid regex: '^[0-9-]+$'
      - max(age):
          warn: when > 90
          fail: when between 120 and 200
      - freshness(updated_at) < 1d6h
      - basket_span between 1 and 5:
          basket_span expression: avg(last_day - first_day)
      - schema:
          fail:
            when required column missing: [customer_id]
            when wrong column type: {age: int}
      - failed rows:
          fail condition: age < 0
      - values in (city) must exist in cities (name)
      - row_count same as customer_archive
"""
SODA = job("soda+python:1.0", SODA_SPEC)


def test_soda_spec_parses_every_check() -> None:
    spec = spec_of(SODA)
    assert isinstance(spec, SodaSpec)
    item = spec.inputs[0]
    assert item.options is not None and item.options.engine == "minerva"
    kinds = [c.parsed.kind for c in item.parsed_checks]
    assert kinds == ["metric"] * 6 + ["schema", "failed_rows", "reference", "same_as"]
    email = item.parsed_checks[1]
    assert email.parsed.columns == ("email",) and email.config is not None
    assert (
        email.config.attributes is not None and email.config.attributes.category == "Completeness"
    )
    assert item.parsed_checks[2].parsed.threshold == Threshold("<", (1.0,), "%")
    assert item.parsed_checks[4].parsed.threshold == Threshold("<", (108000.0,), "seconds")
    assert item.parsed_checks[5].config is not None
    assert item.parsed_checks[5].config.user_metrics == {"basket_span": "avg(last_day - first_day)"}


def test_soda_references_depot_and_cluster() -> None:
    model, _ = reported(SODA, Workflow)
    assert model is not None
    at = ("workflow", "dag", 0, "spec", "stackSpec", "inputs", 0)
    assert [r for r in model.references() if r.kind in {"depot", "cluster"}] == [
        Reference("depot", "lakehouse", None, (*at, "dataset")),
        Reference("cluster", "quality", None, (*at, "options", "clusterName")),
    ]


SODA_CASES = [
    (
        "row_count between",
        "row_cont between",
        "row_cont",
        "checks[0]",
        "unknown SodaCL metric 'row_cont'; did you mean 'row_count'?",
    ),
    (
        "missing_count(email) = 0:",
        "mising_count(email) = 0:",
        "mising",
        "checks[1].mising_count(email) = 0",
        "did you mean 'missing_count'?",
    ),
    (
        "category: Completeness",
        "category: Completnes",
        "Completnes",
        "checks[1].missing_count(email) = 0.attributes.category",
        "did you mean 'Completeness'?",
    ),
    (
        "valid regex:",
        "valid regx:",
        "valid regx",
        "checks[2].invalid_percent(phone) < 1 %.valid regx",
        "did you mean 'valid regex'?",
    ),
    (
        "'^[0-9-]+$'",
        "'^[0-9-+$'",
        "valid regex",
        "checks[2].invalid_percent(phone) < 1 %.valid regex",
        "not a valid regular expression",
    ),
    (
        "fail: when between",
        "fail: whenever between",
        "whenever",
        "checks[3].max(age).fail",
        "must start with 'when'",
    ),
    (
        "          warn: when > 90\n          fail: when between 120 and 200\n",
        "          name: x\n",
        "- max(age):",
        "checks[3].max(age)",
        "has no threshold",
    ),
    ("< 1d6h", "< 36", "freshness(", "checks[4]", "freshness compares a duration"),
    (
        "      basket_span expression: avg(last_day - first_day)\n",
        "      name: span\n",
        "basket_span",
        "checks[5].basket_span between 1 and 5",
        "define it with 'basket_span query' or 'basket_span expression'",
    ),
    (
        "        when wrong column type: {age: int}\n",
        "        when wrong type: {age: int}\n",
        "when wrong type",
        "checks[6].schema.fail.when wrong type",
        "did you mean 'when wrong column type'?",
    ),
    (
        "      fail condition: age < 0\n",
        "      name: negative ages\n",
        "failed rows",
        "checks[7].failed rows",
        "needs 'fail condition' or 'fail query'",
    ),
    (
        "must exist in cities (name)",
        "must exist in cities (name, id)",
        "values in",
        "checks[8]",
        "as many columns on each side",
    ),
    ("engine: Minerva", "engine: spark", "engine", "options.engine", "'spark' is not allowed"),
    (
        "dataset: dataos://lakehouse:retail/customer",
        "dataset: lakehouse/customer",
        "dataset:",
        "dataset",
        "is not a UDL",
    ),
]


def test_every_faulty_soda_check_is_reported_at_once() -> None:
    spec = SODA_SPEC.replace("row_count between", "row_cnt between").replace("max(", "maxx(")
    _, issues = reported(job("soda+python:1.0", spec), Workflow)
    paths = [i[1].split("inputs[0].")[1] for i in issues]
    assert paths == ["checks[0]", "checks[3].maxx(age)"]


@pytest.mark.parametrize(
    ("text", "kind", "columns", "threshold"),
    [
        ("row_count between (10 and 55)", "metric", (), Threshold("between", (10.0, 55.0))),
        ("duplicate_count(a, b) = 0", "metric", ("a", "b"), Threshold("=", (0.0,))),
        (
            'missing_percent("phone") not between 1 and 5',
            "metric",
            ("phone",),
            Threshold("not between", (1.0, 5.0)),
        ),
        ("percentile(price, 0.95) > 10", "metric", ("price",), Threshold(">", (10.0,))),
        ("values in (a, b) must not exist in t (c, d)", "reference", ("a", "b"), None),
    ],
)
def test_sodacl_grammar(
    text: str, kind: str, columns: tuple[str, ...], threshold: Threshold | None
) -> None:
    parsed = parse_check(text)
    assert (parsed.kind, parsed.columns, parsed.threshold) == (kind, columns, threshold)


def test_sodacl_parses_arguments_and_references() -> None:
    assert parse_check("percentile(price, 0.95) > 10").argument == 0.95
    reference = parse_check("values in (a, b) must not exist in t (c, d)")
    assert (reference.other_table, reference.other_columns, reference.negated) == (
        "t",
        ("c", "d"),
        True,
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("row_count(a) > 1", "row_count takes no column, got 1"),
        ("avg(a, b) > 1", "avg takes one column, got 2"),
        ("percentile(a, high) > 1", "needs a fraction"),
        ("missing_count(a) >> 1", "is not a comparison"),
        ("row_count < 1d", "only freshness checks compare durations"),
        ("row_count between 9 and 1", "lower bound is above the upper bound"),
        ("avg(price) same as other", "'same as' compares row counts"),
        ("values in city must exist in t (x)", "is not a reference check"),
    ],
)
def test_sodacl_grammar_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_check(text)


SCANNER_SPEC = """\
depot: dataos://shoppg
sourceConfig:
  config:
    type: DatabaseMetadata
    markDeletedTables: true
    includeViews: true
    schemaFilterPattern: {includes: ['^public$'], excludes: ['^pg_.*']}
    tableFilterPattern: {includes: ['^orders.*']}
"""
SCANNER = job("scanner:2.0", SCANNER_SPEC)


def test_scanner_scans_a_depot_by_address_or_name_or_a_source() -> None:
    spec = spec_of(SCANNER)
    assert isinstance(spec, ScannerSpec) and spec.source_name == "shoppg"
    model, _ = reported(SCANNER.replace("dataos://shoppg", "shoppg"), Workflow)
    ref = Reference("depot", "shoppg", None, ("workflow", "dag", 0, "spec", "stackSpec", "depot"))
    assert model is not None and ref in model.references()
    source = "type: bigquery\nsource: analytics\nsourceConnection:\n  config: {type: BigQuery}"
    spec = spec_of(job("scanner:2.0", SCANNER_SPEC.replace("depot: dataos://shoppg", source)))
    assert isinstance(spec, ScannerSpec) and spec.source_name == "analytics"


SCANNER_CASES = [
    ("depot: dataos://shoppg\n", "", "stackSpec:", "", "give 'depot'"),
    (
        "depot: dataos://shoppg\n",
        "depot: shoppg\ntype: postgres\n",
        "type: postgres",
        ".type",
        "either 'depot' or 'type'",
    ),
    ("depot: dataos://shoppg", "depot: dataos:shoppg", "depot:", ".depot", "dataos://"),
    (
        "'^pg_.*'",
        "'^pg_[.*'",
        "excludes",
        ".sourceConfig.config.schemaFilterPattern.excludes[0]",
        "not a valid regular expression",
    ),
    (
        "markDeletedTables",
        "markDeletedTable",
        "markDeletedTable:",
        ".sourceConfig.config.markDeletedTable",
        "did you mean 'markDeletedTables'?",
    ),
    (
        "type: DatabaseMetadata",
        "type: Database",
        "type: Database",
        ".sourceConfig.config.type",
        "'Database' is not allowed",
    ),
]


CASES = [
    *(("flare:7.0", FLARE_SPEC, ".", *case) for case in FLARE_CASES),
    *(("soda+python:1.0", SODA_SPEC, ".inputs[0].", *case) for case in SODA_CASES),
    *(("scanner:2.0", SCANNER_SPEC, "", *case) for case in SCANNER_CASES),
]


@pytest.mark.parametrize(
    ("stack", "spec", "prefix", "old", "new", "needle", "path", "fragment"),
    CASES,
    ids=[f"{c[0].split(':')[0]}{c[2]}{c[6]}".rstrip(".") for c in CASES],
)
def test_invalid_stack_spec(
    stack: str, spec: str, prefix: str, old: str, new: str, needle: str, path: str, fragment: str
) -> None:
    """Each case breaks a valid spec in one place: one issue at the exact key and line."""
    text = job(stack, replace_once(spec, old, new))
    assert_one_issue_at(text, needle, f"workflow.dag[0].spec.stackSpec{prefix}{path}", fragment)
