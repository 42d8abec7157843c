"""Workflow manifests: schedule, DAG rules, the runtime spec and what a workflow references."""

from __future__ import annotations

import textwrap

import pytest
from support import invalid, line_of, one_issue_at, valid_as

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.schema import type_schema
from dataos_defs.manifest.stacks import FlareSpec
from dataos_defs.manifest.validate import parse_document
from dataos_defs.manifest.workflow import Workflow


def valid(text: str) -> Workflow:
    """The Workflow of ``text`` (may be indented), which must validate without issues."""
    return valid_as(text, Workflow)


SCHEDULED = """\
name: daily-orders
version: v1
type: workflow
tags: [orders]
workflow:
  title: Daily orders
  schedule:
    cron: '30 2 * * *'
    concurrencyPolicy: Forbid
    endOn: 2030-01-01T00:00:00Z
    timezone: Europe/Berlin
  dag:
    - name: extract
      title: Extract orders
      spec:
        stack: flare:7.0
        compute: runnable-default
        logLevel: info
        envs: {RETRIES: 3, MODE: fast}
        dataosSecrets:
          - {name: pg-reader, allKeys: true, consumptionType: envVars}
          - {name: shared, workspace: system}
        resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: 1, memory: 2Gi}}
        stackSpec:
          job:
            inputs:
              - name: orders
                dataset: dataos://shoppg:public/orders?acl=r
                format: jdbc
            steps:
              - sequence:
                  - name: recent
                    sql: select * from orders where ts > now() - interval 1 day
            outputs:
              - name: recent
                dataset: dataos://lakehouse:sales?acl=rw
                format: Iceberg
    - name: publish
      retry: {count: 2, strategy: OnError}
      dependencies: [extract]
      gcWhenComplete: true
      spec:
        stack: dataos-ctl
        stackSpec:
          arguments: [resource, apply, -f, /etc/dataos/config/manifest.yaml]
    - name: notify
      file: jobs/notify.yaml
      dependencies: publish
"""


def test_scheduled_workflow_validates_with_defaults_and_typed_spec() -> None:
    wf = valid(SCHEDULED)
    schedule = wf.workflow.schedule
    assert schedule is not None and schedule.concurrencyPolicy == "Forbid"
    extract, publish, notify = wf.workflow.dag
    assert extract.spec is not None and isinstance(extract.spec.stack_spec, FlareSpec)
    assert extract.spec.logLevel == "INFO"
    assert extract.effective_retry.count == 0
    assert publish.effective_retry.strategy == "OnError"
    assert publish.spec is not None and publish.spec.stack_spec == {
        "arguments": ["resource", "apply", "-f", "/etc/dataos/config/manifest.yaml"]
    }
    assert notify.file == "jobs/notify.yaml" and notify.spec is None
    assert notify.dependency_items() == [("publish", ("dependencies",))]


def test_concurrency_policy_defaults_to_allow_and_retry_may_sit_inside_spec() -> None:
    text = """\
    name: once
    version: v1beta
    type: workflow
    workflow:
      schedule: {cron: '*/10 * * * *'}
      dag:
        - name: only
          spec:
            stack: bento
            compute: runnable-default
            retry: {count: 3, duration: 1m}
            stackSpec: {input: {http_client: {url: 'http://x'}}}
    """
    wf = valid(text)
    assert wf.workflow.schedule is not None
    assert wf.workflow.schedule.concurrencyPolicy == "Allow"
    assert wf.workflow.dag[0].effective_retry.count == 3


def test_references_of_a_workflow_carry_key_paths() -> None:
    refs = valid(SCHEDULED).references()
    job0 = ("workflow", "dag", 0, "spec")
    assert refs == [
        Reference("compute", "runnable-default", None, (*job0, "compute")),
        Reference("stack", "flare", None, (*job0, "stack")),
        Reference("secret", "pg-reader", None, (*job0, "dataosSecrets", 0, "name")),
        Reference("secret", "shared", "system", (*job0, "dataosSecrets", 1, "name")),
        Reference("depot", "shoppg", None, (*job0, "stackSpec", "job", "inputs", 0, "dataset")),
        Reference("depot", "lakehouse", None, (*job0, "stackSpec", "job", "outputs", 0, "dataset")),
        Reference("compute", "runnable-default", None, ("workflow", "dag", 1, "spec")),
        Reference("stack", "dataos-ctl", None, ("workflow", "dag", 1, "spec", "stack")),
    ]


def test_produced_datasets_append_the_output_name_to_collection_addresses() -> None:
    wf = valid(SCHEDULED)
    path = ("workflow", "dag", 0, "spec", "stackSpec", "job", "outputs", 0, "dataset")
    assert wf.produced_datasets() == [("dataos://lakehouse:sales/recent", path)]
    assert wf.secret_paths() == []


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "fragment"),
    [
        ("'30 2 * * *'", "'30 2 * *'", "cron:", "workflow.schedule.cron", "has 4 fields"),
        ("'30 2 * * *'", "'61 2 * * *'", "cron:", "workflow.schedule.cron", "not a valid cron"),
        (
            "Forbid",
            "Sometimes",
            "concurrencyPolicy",
            "workflow.schedule.concurrencyPolicy",
            "'Sometimes' is not allowed",
        ),
        ("2030-01-01T00:00:00Z", "next-year", "endOn", "workflow.schedule.endOn", "ISO-8601"),
        ("Europe/Berlin", "Europe/Berlln", "timezone", "workflow.schedule.timezone", "IANA"),
        (
            "- name: extract",
            "- name: Extract_Orders",
            "Extract_Orders",
            "workflow.dag[0].name",
            "lower-case",
        ),
        (
            "stack: flare:7.0",
            "stack: Flare 7",
            "stack: Flare",
            "workflow.dag[0].spec.stack",
            "name[+flavor][:version]",
        ),
        (
            "consumptionType: envVars",
            "consumptionType: env",
            "consumptionType",
            "workflow.dag[0].spec.dataosSecrets[0].consumptionType",
            "'env' is not allowed",
        ),
        (
            "memory: 1Gi}",
            "memory: lots}",
            "requests:",
            "workflow.dag[0].spec.resources.requests.memory",
            "Kubernetes quantity",
        ),
        (
            "logLevel: info",
            "logLevel: loud",
            "logLevel",
            "workflow.dag[0].spec.logLevel",
            "'LOUD' is not allowed",
        ),
        (
            "strategy: OnError",
            "strategy: Never",
            "strategy",
            "workflow.dag[1].retry.strategy",
            "'Never' is not allowed",
        ),
        (
            "file: jobs/notify.yaml",
            "file: [jobs/notify.yaml]",
            "file:",
            "workflow.dag[2].file",
            "valid string",
        ),
    ],
)
def test_invalid_scalar_values_are_reported_at_their_key(
    old: str, new: str, needle: str, path: str, fragment: str
) -> None:
    text = SCHEDULED.replace(old, new, 1)
    message, _ = one_issue_at(text, needle, path)
    assert fragment in message


def test_empty_dag_is_rejected() -> None:
    [issue] = invalid("name: w\nversion: v1\ntype: workflow\nworkflow:\n  dag: []\n")
    assert issue[:2] == (5, "workflow.dag") and "at least 1 item" in issue[2]


def test_unknown_spec_field_gets_a_did_you_mean() -> None:
    text = SCHEDULED.replace("compute: runnable-default", "computer: runnable-default", 1)
    message, hint = one_issue_at(text, "computer:", "workflow.dag[0].spec.computer")
    assert message == "unknown field 'computer'" and hint == "did you mean 'compute'?"


JOBS = """\
name: dag-rules
version: v1
type: workflow
workflow:
  dag:
{jobs}"""


def _jobs(*jobs: str) -> str:
    return JOBS.format(jobs="".join(textwrap.indent(textwrap.dedent(j), "    ") for j in jobs))


def _job(name: str, extra: str = "") -> str:
    return f"""\
    - name: {name}
      spec:
        stack: container
        stackSpec: {{image: 'busybox:1'}}
    {extra}"""


def test_job_needs_spec_or_file() -> None:
    text = _jobs("- name: lonely\n  title: nothing to run\n")
    assert invalid(text) == [
        (
            6,
            "workflow.dag[0]",
            "job 'lonely' needs 'spec' (what to run) or 'file' (a manifest)",
            None,
        )
    ]


def test_job_with_spec_and_file_is_rejected_at_file() -> None:
    text = _jobs(_job("both", "  file: other.yaml\n"))
    message, _ = one_issue_at(text, "file:", "workflow.dag[0].file")
    assert "either 'spec' or 'file'" in message


def test_retry_beside_and_inside_spec_is_rejected() -> None:
    text = _jobs(_job("twice", "  retry: {count: 1}\n")).replace(
        "stack: container", "stack: container\n        retry: {count: 2}"
    )
    message, _ = one_issue_at(text, "retry: {count: 2}", "workflow.dag[0].spec.retry")
    assert "retry is given twice" in message


def test_duplicate_job_names_point_at_the_second_one() -> None:
    text = _jobs(_job("load"), _job("load"))
    assert invalid(text) == [
        (
            line_of(text, "- name: load", 2),
            "workflow.dag[1].name",
            "job 'load' is defined twice in this dag",
            "first defined at workflow.dag[0]",
        )
    ]


def test_unknown_dependency_lists_the_jobs_with_a_did_you_mean() -> None:
    text = _jobs(_job("extract"), _job("load", "  dependencies: [extrakt]\n"))
    assert invalid(text) == [
        (
            line_of(text, "extrakt"),
            "workflow.dag[1].dependencies[0]",
            "dependency 'extrakt' is not a job of this dag",
            "did you mean 'extract'? jobs: extract, load",
        )
    ]


def test_unknown_dependency_written_as_a_string() -> None:
    text = _jobs(_job("extract"), _job("load", "  dependencies: report\n"))
    message, hint = one_issue_at(text, "dependencies: report", "workflow.dag[1].dependencies")
    assert message == "dependency 'report' is not a job of this dag"
    assert hint == "jobs: extract, load"


def test_self_dependency() -> None:
    text = _jobs(_job("loop", "  dependencies: [loop]\n"))
    assert invalid(text) == [
        (
            line_of(text, "dependencies: [loop]"),
            "workflow.dag[0].dependencies[0]",
            "job 'loop' depends on itself",
            None,
        )
    ]


def test_dependency_cycle_is_named_once() -> None:
    text = _jobs(
        _job("a", "  dependencies: [c]\n"),
        _job("b", "  dependencies: [a]\n"),
        _job("c", "  dependencies: [b]\n"),
    )
    message, hint = one_issue_at(text, "dependencies: [a]", "workflow.dag[1].dependencies[0]")
    assert message == "dependency cycle: a -> c -> b -> a"
    assert hint is not None and "remove one" in hint


def test_all_dag_problems_are_reported_together() -> None:
    text = _jobs(
        _job("a", "  dependencies: [a, zz]\n"),
        _job("a"),
    )
    assert [(p, m) for _, p, m, _ in invalid(text)] == [
        ("workflow.dag[1].name", "job 'a' is defined twice in this dag"),
        ("workflow.dag[0].dependencies[0]", "job 'a' depends on itself"),
        ("workflow.dag[0].dependencies[1]", "dependency 'zz' is not a job of this dag"),
    ]


LEGACY = """\
name: legacy
version: v1
type: workflow
workflow:
  dag:
    - name: old-style
      spec:
        stack: flare:3.0
        compute: runnable-default
        flare:
          job:
            inputs:
              - name: cities
                dataset: dataos://thirdparty:none/cities
                format: csv
            outputs:
              - name: cities
                dataset: dataos://lakehouse:geo/cities?acl=rw
"""


def test_spec_under_the_stack_name_is_typed_and_paths_keep_the_key() -> None:
    wf = valid(LEGACY)
    spec = wf.workflow.dag[0].spec
    assert spec is not None and spec.stack_spec_key == "flare"
    assert isinstance(spec.stack_spec, FlareSpec)
    assert wf.produced_datasets() == [
        (
            "dataos://lakehouse:geo/cities",
            ("workflow", "dag", 0, "spec", "flare", "job", "outputs", 0, "dataset"),
        )
    ]


def test_error_inside_a_legacy_key_points_at_the_key_as_written() -> None:
    text = LEGACY.replace("format: csv", "format: csvv")
    message, hint = one_issue_at(text, "csvv", "workflow.dag[0].spec.flare.job.inputs[0].format")
    assert message == "'csvv' is not allowed" and hint == "did you mean 'csv'?"


def test_spec_given_under_the_stack_name_and_stackspec_is_rejected() -> None:
    text = LEGACY.replace("        flare:", "        stackSpec: {}\n        flare:")
    message, _ = one_issue_at(text, "flare:", "workflow.dag[0].spec.flare", 2)
    assert "given twice" in message


def test_key_of_another_typed_stack_is_rejected() -> None:
    text = LEGACY.replace("        flare:", "        soda:")
    message, _ = one_issue_at(text, "soda:", "workflow.dag[0].spec.soda")
    assert "runs 'flare:3.0'" in message


def test_typed_stack_without_a_spec() -> None:
    text = _jobs("- name: empty\n  spec:\n    stack: scanner:2.0\n")
    assert invalid(text) == [
        (
            line_of(text, "spec:"),
            "workflow.dag[0].spec",
            "the scanner stack needs its configuration under 'stackSpec'",
            None,
        )
    ]


def test_unknown_top_level_key_of_a_typed_spec_names_that_stacks_keys() -> None:
    text = SCHEDULED.replace("          job:", "          jobs:", 1)
    assert [(line, path, message) for line, path, message, _ in invalid(text)] == [
        (
            line_of(text, "stackSpec:"),
            "workflow.dag[0].spec.stackSpec.job",
            "missing required field 'job'",
        ),
        (
            line_of(text, "jobs:"),
            "workflow.dag[0].spec.stackSpec.jobs",
            "unknown field 'jobs' in a flare stackSpec; did you mean 'job'?",
        ),
    ]


def test_untyped_stacks_keep_their_spec_as_a_mapping() -> None:
    text = _jobs(
        "- name: custom\n  spec:\n    stack: my-stack+python:0.1\n"
        "    my-stack: {anything: [1, 2]}\n"
    )
    spec = valid(text).workflow.dag[0].spec
    assert spec is not None and spec.stack_spec == {"anything": [1, 2]}
    assert spec.stack_ref.name == "my-stack" and spec.stack_ref.flavor == "python"


def test_json_schema_exposes_the_typed_stack_specs() -> None:
    schema = type_schema("workflow")
    refs = [s.get("$ref") for s in schema["$defs"]["JobSpec"]["properties"]["stackSpec"]["anyOf"]]
    assert "#/$defs/FlareSpec" in refs and "#/$defs/SodaSpec" in refs


def test_validating_a_document_again_gives_the_same_workflow() -> None:
    """Validation is repeatable (nothing cached between calls changes the result); how fast
    1,000 validations are is measured by ``make bench`` (``benchmarks/unit_hot_paths.py``),
    not here: a wall-clock limit flakes on a loaded runner."""
    documents, _ = parse_yaml(SCHEDULED, "m.yaml")
    first, _ = parse_document(documents[0])
    results = [parse_document(documents[0]) for _ in range(100)]
    assert first is not None
    assert all(parsed == first and not issues for parsed, issues in results)
