"""A bundle's plan and model, without a server: order, member documents, issues, matching."""

from __future__ import annotations

import pytest
from bundle_texts import SERVICE_AND_WORKER

from dataos_defs.manifest.bundle import MAX_RESOURCES, StateMatch, duration_seconds
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import ParsedResource, parse_documents
from dataos_defs.poros.bundles import describe_match, matches, plan_bundle, stored_plan
from dataos_defs.poros.records import ResourceKey

IMPLICIT = """\
name: implicit
version: v1beta
type: bundle
bundle:
  resources:
    - id: db
      spec:
        name: implicitdb
        version: v2alpha
        type: depot
        depot:
          type: POSTGRESQL
          external: true
          postgresql: {subprotocol: postgresql, host: h, port: 5432, database: d}
          secrets: [{name: creds, keys: [creds]}]
    - id: creds
      spec: {name: creds, version: v1, type: instance-secret,
             instance-secret: {type: key-value, acl: r, data: {k: v}}}
"""


def _parsed(text: str) -> ParsedResource:
    documents, issues = parse_yaml(text, "bundle.yaml")
    assert not issues
    (parsed,) = parse_documents(documents)
    return parsed


def test_members_are_ordered_by_dependencies_and_carry_the_bundle_link() -> None:
    plan = plan_bundle(_parsed(SERVICE_AND_WORKER.format(name="one", ws="w", timeout="5m")))
    assert [m.id for m in plan.members] == ["creds", "db", "api", "pump"]
    assert plan.workspaces == ["w"]
    pump = plan.by_id("pump")
    assert pump.key == ResourceKey("worker", "pump", "w")
    assert pump.declared.timeout_s() == 300
    assert pump.resource.document.data["tags"] == ["dataos:bundle:one"]
    assert pump.resource.document.data["workspace"] == "w"
    assert [m.id for m in plan.delete_order()] == ["pump", "api", "db", "creds"]


def test_a_member_referencing_another_is_applied_after_it() -> None:
    plan = plan_bundle(_parsed(IMPLICIT))
    assert [(m.id, m.after) for m in plan.members] == [("creds", ()), ("db", ("creds",))]


def test_member_issues_keep_the_bundle_file_line_and_full_path() -> None:
    plan = plan_bundle(_parsed(IMPLICIT))
    issue = plan.by_id("db").resource.issue(("depot", "postgresql"), "refused")
    assert (issue.file, issue.line, issue.path) == (
        "bundle.yaml",
        14,
        "bundle.resources[0].spec.depot.postgresql",
    )


def test_a_bundle_in_a_bundle_and_a_workspace_on_an_instance_type_are_refused() -> None:
    text = IMPLICIT.replace("    - id: creds\n", "    - id: creds\n      workspace: w\n")
    text += "    - id: inner\n      spec: {name: x, version: v1beta, type: bundle, bundle: {}}\n"
    with pytest.raises(ManifestError) as caught:
        plan_bundle(_parsed_lenient(text))
    messages = {(i.path, i.message) for i in caught.value.issues}
    assert ("bundle.resources[2].spec.type", "a bundle cannot contain a bundle") in messages
    assert (
        "bundle.resources[1].workspace",
        "a instance-secret is instance-level: it belongs to no workspace",
    ) in messages


def _parsed_lenient(text: str) -> ParsedResource:
    """The bundle with its members unchecked (the inner bundle is not a valid manifest)."""
    from dataos_defs.manifest.bundle import Bundle
    from dataos_defs.manifest.loader import Document

    documents, _ = parse_yaml(text, "bundle.yaml")
    model = Bundle.model_validate(documents[0].data)
    return ParsedResource(model, Document("bundle.yaml", 0, documents[0].data, documents[0].source))


def test_a_stored_bundle_plans_again_without_positions() -> None:
    parsed = _parsed(IMPLICIT)
    plan = stored_plan(parsed.document.data, "bundle.yaml")
    assert [m.key.name for m in plan.delete_order()] == ["implicitdb", "creds"]


def test_too_many_resources_and_bad_timeouts_are_manifest_errors() -> None:
    members = "".join(
        f"    - id: s{i}\n      spec: {{name: s{i}, version: v1, type: instance-secret, "
        "instance-secret: {type: key-value, acl: r, data: {k: v}}}\n"
        for i in range(MAX_RESOURCES + 1)
    )
    text = "name: big\nversion: v1beta\ntype: bundle\nbundle:\n  resources:\n" + members
    documents, _ = parse_yaml(text, "bundle.yaml")
    with pytest.raises(ManifestError, match="at most 100 items"):
        parse_documents(documents)
    slow = IMPLICIT.replace("    - id: creds\n", "    - id: creds\n      timeout: 2d\n")
    documents, _ = parse_yaml(slow, "bundle.yaml")
    with pytest.raises(ManifestError, match="not a duration such as 90s, 10m or 1h"):
        parse_documents(documents)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1.5h", 5400), ("500ms", 0.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_conditions_match_is_and_contains() -> None:
    running = StateMatch.model_validate({"is": ["running:1", "running:2"]})
    assert matches(running, "running:2")
    assert not matches(running, "pending")
    assert not matches(running, None)
    assert matches(StateMatch.model_validate({"contains": ["running"]}), "running:3")
    assert matches(None, "anything")
    assert describe_match("runtime", running) == "runtime is [running:1, running:2]"


def test_a_workspace_disagreeing_with_the_manifest_is_a_manifest_error() -> None:
    text = SERVICE_AND_WORKER.format(name="one", ws="w", timeout="5m").replace(
        "        name: pump\n", "        name: pump\n        workspace: other\n"
    )
    documents, _ = parse_yaml(text, "bundle.yaml")
    with pytest.raises(ManifestError) as caught:
        parse_documents(documents)
    (issue,) = caught.value.issues
    assert issue.path == "bundle.resources[3].workspace"
    assert issue.message == "the resource says workspace 'w' but its manifest says 'other'"
