"""A table of invalid manifests: each must fail with file, line, field path and message.

Every case is a complete file; ``expect`` lists (line, field path, message fragment) of
the issues the run must report (all of them, in order).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import assert_issues_match

from dataos_defs.manifest.dereference import dereference
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents

WF = """\
name: wf
version: v1
type: workflow
workflow:
{body}"""

JOB = """\
  dag:
    - name: a
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - name: src
{input}
            outputs:
              - name: src
                dataset: dataos://lake:out/t?acl=rw
"""

SECRET = """\
name: s1
version: v1
type: instance-secret
instance-secret:
  type: key-value-properties
  acl: r
  data: {a: b}
"""

DEPOT = """\
name: pg
version: v2alpha
type: depot
depot:
  type: POSTGRESQL
  external: true
  postgresql:
    subprotocol: postgresql
    host: h
    port: 5432
    database: shop
"""

POLICY_MASK = """\
name: mask
version: v1
type: policy
policy:
  data:
    type: mask
    priority: {priority}
    dataset_id: lake.shop.customers
    selector:
      column: {{names: [email]}}
      user: {{match: any, tags: ["roles:id:user"]}}
    mask:
{mask}
"""

CASES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    ("not-a-mapping", "- a\n- b\n", [(1, "", "must be a mapping")]),
    ("missing-type", "name: x\nversion: v1\n", [(1, "type", "missing field 'type'")]),
    ("unknown-type", "name: x\nversion: v1\ntype: workflws\n", [(3, "type", "did you mean")]),
    (
        "bad-version",
        WF.format(body=JOB.format(input="                dataset: dataos://pg:public/t")).replace(
            "version: v1", "version: v3"
        ),
        [(2, "version", "'v3' is not allowed")],
    ),
    ("bad-name-case", SECRET.replace("name: s1", "name: S1"), [(1, "name", "lower-case")]),
    ("name-too-long", SECRET.replace("name: s1", "name: " + "a" * 49), [(1, "name", "at most 48")]),
    ("name-trailing-dash", SECRET.replace("name: s1", "name: s1-"), [(1, "name", "lower-case")]),
    (
        "depot-name-hyphen",
        DEPOT.replace("name: pg", "name: pg-main"),
        [(1, "name", "lower-case letter followed")],
    ),
    (
        "unknown-meta-field",
        SECRET + "descripton: x\n",
        [(8, "descripton", "did you mean 'description'")],
    ),
    ("bad-layer", SECRET + "layer: kernel\n", [(8, "layer", "not allowed")]),
    ("tags-not-list", SECRET + "tags: one\n", [(8, "tags", "valid list")]),
    (
        "duplicate-key",
        SECRET + "name: s2\n",
        [(8, "name", "duplicate key 'name' (first defined on line 1)")],
    ),
    ("yaml-syntax", "name: x\n  version: v1\n", [(2, "", "YAML syntax error")]),
    ("yaml-tab", "name: x\n\tversion: v1\n", [(2, "", "YAML syntax error")]),
    (
        "unset-variable",
        SECRET.replace("{a: b}", "\n    a: ${SURELY_UNSET_VAR_42}"),
        [(8, "instance-secret.data.a", "SURELY_UNSET_VAR_42")],
    ),
    (
        "secret-bad-acl",
        SECRET.replace("acl: r", "acl: x"),
        [(6, "instance-secret.acl", "not allowed")],
    ),
    (
        "secret-unknown-field",
        SECRET + "  dta: {}\n",
        [(8, "instance-secret.dta", "did you mean 'data'")],
    ),
    ("empty-dag", WF.format(body="  dag: []\n"), [(5, "workflow.dag", "at least 1")]),
    (
        "missing-dag",
        WF.format(body="  title: t\n"),
        [(4, "workflow.dag", "missing required field 'dag'")],
    ),
    (
        "bad-cron-fields",
        WF.format(
            body="  schedule:\n    cron: '* * *'\n"
            + JOB.format(input="                dataset: dataos://pg:public/t")
        ),
        [(6, "workflow.schedule.cron", "5")],
    ),
    (
        "bad-cron-value",
        WF.format(
            body="  schedule:\n    cron: '61 * * * *'\n"
            + JOB.format(input="                dataset: dataos://pg:public/t")
        ),
        [(6, "workflow.schedule.cron", "not a valid cron")],
    ),
    (
        "bad-concurrency",
        WF.format(
            body="  schedule:\n    cron: '0 * * * *'\n    concurrencyPolicy: Sometimes\n"
            + JOB.format(input="                dataset: dataos://pg:public/t")
        ),
        [(7, "workflow.schedule.concurrencyPolicy", "not allowed")],
    ),
    (
        "bad-timezone",
        WF.format(
            body="  schedule:\n    cron: '0 * * * *'\n    timezone: Mars/Olympus\n"
            + JOB.format(input="                dataset: dataos://pg:public/t")
        ),
        [(7, "workflow.schedule.timezone", "time zone")],
    ),
    (
        "bad-job-name",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "name: a", "name: A_b"
            )
        ),
        [(6, "workflow.dag[0].name", "lower-case")],
    ),
    (
        "bad-stack-string",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "flare:7.0", "Flare 7"
            )
        ),
        [(8, "workflow.dag[0].spec.stack", "not a stack")],
    ),
    (
        "dataset-and-query",
        WF.format(
            body=JOB.format(
                input="                dataset: dataos://pg:public/t\n                query: select 1"
            )
        ),
        [(13, "workflow.dag[0].spec.stackSpec.job.inputs[0]", "dataset")],
    ),
    (
        "bad-udl-scheme",
        WF.format(body=JOB.format(input="                dataset: dataos:pg:public/t")),
        [(14, "workflow.dag[0].spec.stackSpec.job.inputs[0].dataset", "dataos://")],
    ),
    (
        "bad-udl-acl",
        WF.format(body=JOB.format(input="                dataset: dataos://pg:public/t?acl=x")),
        [(14, "workflow.dag[0].spec.stackSpec.job.inputs[0].dataset", "acl must be")],
    ),
    (
        "bad-quantity",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "compute: runnable-default",
                "compute: runnable-default\n        resources: {requests: {cpu: lots}}",
            )
        ),
        [(10, "workflow.dag[0].spec.resources.requests.cpu", "quantity")],
    ),
    (
        "bad-log-level",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "compute: runnable-default", "compute: runnable-default\n        logLevel: LOUD"
            )
        ),
        [(10, "workflow.dag[0].spec.logLevel", "not allowed")],
    ),
    (
        "bad-retry-strategy",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t")
            + "      retry: {count: 1, strategy: Never}\n"
        ),
        [(18, "workflow.dag[0].retry.strategy", "not allowed")],
    ),
    (
        "negative-retry",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t")
            + "      retry: {count: -1}\n"
        ),
        [(18, "workflow.dag[0].retry.count", "greater than or equal to 0")],
    ),
    (
        "unknown-job-field",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "      spec:", "      dependson: [b]\n      spec:"
            )
        ),
        [(7, "workflow.dag[0].dependson", "did you mean 'dependencies'")],
    ),
    (
        "unknown-spec-field",
        WF.format(
            body=JOB.format(input="                dataset: dataos://pg:public/t").replace(
                "compute: runnable-default", "compute: runnable-default\n        computee: x"
            )
        ),
        [(10, "workflow.dag[0].spec.computee", "unknown field")],
    ),
    (
        "secret-bad-type",
        SECRET.replace("type: key-value-properties", "type: password"),
        [(5, "instance-secret.type", "not allowed")],
    ),
    (
        "policy-priority-range",
        POLICY_MASK.format(priority=101, mask="      operator: hash\n      hash: {algo: sha256}"),
        [(7, "policy.data.priority", "less than or equal to 100")],
    ),
    (
        "policy-bad-operator",
        POLICY_MASK.format(priority=10, mask="      operator: hashh\n      hash: {algo: sha256}"),
        [(13, "policy.data.mask.operator", "did you mean 'hash'")],
    ),
    (
        "policy-bad-regex",
        POLICY_MASK.format(
            priority=10,
            mask="      operator: regex_replace\n      regex_replace: {pattern: '([a-z', replacement: x}",
        ),
        [(14, "policy.data.mask.regex_replace.pattern", "")],
    ),
    (
        "depot-bad-type",
        DEPOT.replace("type: POSTGRESQL", "type: POSTGRESSQL"),
        [(5, "depot.type", "")],
    ),
    (
        "depot-bad-port",
        DEPOT.replace("port: 5432", "port: many"),
        [(10, "depot.postgresql.port", "integer")],
    ),
    ("duplicate-in-set", SECRET + "---\n" + SECRET, [(9, "name", "defined twice")]),
]


@pytest.mark.parametrize(("case", "text", "expect"), CASES, ids=[c[0] for c in CASES])
def test_invalid_manifest(
    tmp_path: Path, case: str, text: str, expect: list[tuple[int, str, str]]
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        documents = load_documents([path])
        problems = dereference(documents)
        if problems:
            raise ManifestError(problems)
        parse_documents(documents)
    issues = caught.value.issues
    assert_issues_match(issues, expect)
    for issue, (line, _, _) in zip(issues, expect, strict=True):
        assert issue.file == str(path)
        assert issue.column >= 1
        assert str(issue).startswith(f"{path}:{line}:")


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
