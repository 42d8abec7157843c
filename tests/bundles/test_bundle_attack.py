"""A plain data developer cannot use a Bundle as a side door.

Mallory (``roles:id:data-dev``) may create bundles (a policy below allows it), depots and
instance-secrets, and work in ``public``. A bundle smuggling a member into a workspace she
may not use, a workspace she may not create, or a depot over storage another depot governs
is refused as a whole: nothing is written, not even the members she could apply alone.
Her rights are checked again when each member is applied: tags lost while the bundle waits
stop it at the next member.
"""

from __future__ import annotations

import time

import pytest
from bundle_texts import DEPOT, SECRET

from tests.bundles.conftest import Platform

BUNDLES_FOR_DEVS = """\
name: devs-make-bundles
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[roles:id:data-dev]]}
    predicates: [create, read, update, delete]
    objects: {paths: ["poros://bundle/*"]}
    allow: true
"""

HEADER = """\
name: {name}
version: v1beta
type: bundle
bundle:
{workspaces}  resources:
    - id: harmless
      spec: {{name: {name}-sec, version: v1, type: instance-secret,
             instance-secret: {{type: key-value, acl: r, data: {{k: v}}}}}}
"""


STACK_FOR_TRUDY = """\
name: trudy-runs-containers
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[users:id:trudy]]}
    predicates: [use]
    objects: {paths: ["poros://stack/container"]}
    allow: true
"""


def _bundle(name: str, member: str, workspaces: str = "") -> str:
    return HEADER.format(name=name, workspaces=workspaces) + member


@pytest.fixture(scope="module")
def mallory(platform: Platform) -> str:
    assert platform.apply(BUNDLES_FOR_DEVS).status_code == 200
    assert platform.call("POST", "/poros/api/v1/workspaces", json={"name": "vault"}).is_success
    operator_depot = DEPOT.format(name="vaultdb", secret="vault-sec")
    assert platform.apply(SECRET.format(name="vault-sec") + "---\n" + operator_depot).is_success
    return platform.user_key("mallory", ["roles:id:data-dev"])


def _nothing_written(platform: Platform, bundle: str, *keys: tuple[str, str, str | None]) -> None:
    assert platform.get("bundle", bundle).status_code == 404
    assert platform.get("instance-secret", f"{bundle}-sec").status_code == 404
    for kind, name, workspace in keys:
        assert platform.get(kind, name, workspace).status_code == 404


def test_a_member_in_a_workspace_she_may_not_use_refuses_the_bundle(
    platform: Platform, mallory: str
) -> None:
    member = """\
    - id: planted
      workspace: vault
      spec: {name: planted, version: v1, type: secret,
             secret: {type: key-value, acl: r, data: {k: v}}}
"""
    answer = platform.apply(_bundle("sneaky", member), key=mallory)
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert "mallory may not create poros://secret:vault/planted" in error["message"]
    assert "bundle.yaml:" in error["message"]
    _nothing_written(platform, "sneaky", ("secret", "planted", "vault"))


def test_a_workspace_she_may_not_create_refuses_the_bundle(
    platform: Platform, mallory: str
) -> None:
    workspaces = "  workspaces:\n    - name: annex\n"
    answer = platform.apply(_bundle("annexed", "", workspaces), key=mallory)
    assert answer.status_code == 403, answer.text
    assert "may not create poros://workspace/annex" in answer.json()["error"]["message"]
    _nothing_written(platform, "annexed")
    assert platform.call("GET", "/poros/api/v1/workspaces/annex").status_code == 404


def test_a_depot_over_storage_another_depot_governs_refuses_the_bundle(
    platform: Platform, mallory: str
) -> None:
    member = """\
    - id: tap
      spec:
        name: tapdb
        version: v2alpha
        type: depot
        depot:
          type: POSTGRESQL
          external: true
          postgresql: {subprotocol: postgresql, host: localhost, port: 5432, database: shop}
"""
    answer = platform.apply(_bundle("tapped", member), key=mallory)
    assert answer.status_code == 422, answer.text
    issues = answer.json()["error"]["issues"]
    assert issues, answer.text
    assert all(i["file"] == "bundle.yaml" for i in issues)
    assert any(i["path"].startswith("bundle.resources[1].spec.depot") for i in issues), issues
    assert any("vaultdb" in i["message"] for i in issues), issues
    _nothing_written(platform, "tapped", ("depot", "tapdb", None))


def test_rights_lost_while_waiting_stop_the_bundle_at_the_next_member(
    platform: Platform, mallory: str
) -> None:
    trudy = platform.user_key("trudy", ["roles:id:data-dev"])
    assert platform.apply(STACK_FOR_TRUDY).status_code == 200
    member = """\
    - id: api
      workspace: public
      spec:
        name: trudy-api
        version: v1
        type: service
        service:
          servicePort: 8080
          replicas: 1
          stack: container
          compute: runnable-default
          stackSpec: {image: python:3.11, command: [python, -c, "pass"]}
    - id: later
      timeout: 30s
      dependencyConditions:
        - resourceId: api
          runtime: {is: ["running:1"]}
      spec: {name: trudy-later, version: v1, type: instance-secret,
             instance-secret: {type: key-value, acl: r, data: {k: v}}}
"""
    answer = platform.apply(_bundle("trudys", member), key=trudy)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 20
    while "waiting on api" not in (platform.bundle("trudys")["status_reason"] or ""):
        assert time.monotonic() < deadline, platform.bundle("trudys")
        time.sleep(0.1)
    removed = platform.call(
        "DELETE", "/heimdall/api/v1/users/trudy/tags", params={"tag": ["roles:id:data-dev"]}
    )
    assert removed.is_success, removed.text
    platform.workloads.ready[("service", "public", "trudy-api")] = 1
    done = platform.wait_bundle("trudys")
    assert done["status"] == "error"
    assert done["status_reason"].startswith(
        "member later (instance-secret 'trudy-later') refused: trudy may not create "
        "poros://instance-secret/trudy-later"
    ), done["status_reason"]
    assert platform.get("instance-secret", "trudy-later").status_code == 404
