"""Re-applying a Bundle that drops members deletes them, as a delete of them would.

Against a real API server (``conftest.platform``): the dropped members go in reverse
dependency order once the new revision is applied; a dropped member an outside Resource
depends on refuses the re-apply (409, nothing written); a user who may update the bundle
but not delete a dropped member gets 403 and nothing changes (attacked as a plain data
developer allowed to manage bundles).
"""

from __future__ import annotations

from dataos_defs.poros.bundles import dropped_members, plan_bundle
from dataos_defs.poros.records import ResourceKey
from tests.bundles.conftest import Platform
from tests.bundles.test_bundle_plan import _parsed

HEAD = """\
name: {name}
version: v1beta
type: bundle
bundle:
  resources:
"""
SECRET_MEMBER = """\
    - id: {id}
      spec: {{name: {name}-{id}, version: v1, type: instance-secret,
             instance-secret: {{type: key-value, acl: r, data: {{k: v}}}}}}
"""
DEPOT_MEMBER = """\
    - id: {id}
      spec:
        name: {name}{id}
        version: v2alpha
        type: depot
        depot:
          type: POSTGRESQL
          external: true
          postgresql: {{subprotocol: postgresql, host: localhost, port: 5432, database: shop}}
          secrets: [{{name: {name}-{secret}, keys: [{name}-{secret}]}}]
"""
PUBLIC_SECRET_MEMBER = """\
    - id: {id}
      workspace: public
      spec: {{name: {name}-{id}, version: v1, type: secret,
             secret: {{type: key-value, acl: r, data: {{k: v}}}}}}
"""
OUTSIDE_DEPOT = """\
name: outside{name}
version: v2alpha
type: depot
depot:
  type: POSTGRESQL
  external: true
  postgresql: {{subprotocol: postgresql, host: localhost, port: 5432, database: shop}}
  secrets: [{{name: {name}-{secret}, keys: [{name}-{secret}]}}]
"""
BUNDLES_FOR_DEVS = """\
name: devs-manage-bundles
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[roles:id:data-dev]]}
    predicates: [create, read, update, delete]
    objects: {paths: ["poros://bundle/*"]}
    allow: true
"""


def bundle(name: str, *members: str) -> str:
    return HEAD.format(name=name) + "".join(members)


def secret(name: str, member: str) -> str:
    return SECRET_MEMBER.format(id=member, name=name)


def depot(name: str, member: str, uses: str) -> str:
    return DEPOT_MEMBER.format(id=member, name=name, secret=uses)


def revisions(platform: Platform, name: str) -> int:
    return len(platform.history("bundle", name))


def test_dropped_members_come_in_the_previous_revisions_delete_order() -> None:
    before = plan_bundle(
        _parsed(bundle("p", secret("p", "a"), depot("p", "db", "a"), secret("p", "c")))
    )
    after = plan_bundle(_parsed(bundle("p", secret("p", "c"))))
    assert dropped_members(before, after) == [
        ResourceKey("depot", "pdb", None),
        ResourceKey("instance-secret", "p-a", None),
    ]
    assert dropped_members(after, after) == []


def test_a_re_apply_without_members_deletes_them_in_reverse_order(platform: Platform) -> None:
    first = bundle("trim", secret("trim", "a"), depot("trim", "db", "a"), secret("trim", "c"))
    assert platform.apply(first).status_code == 200
    assert platform.wait_bundle("trim")["status"] == "active"

    dry = platform.apply(bundle("trim", secret("trim", "c")), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert platform.get("depot", "trimdb").status_code == 200

    again = platform.apply(bundle("trim", secret("trim", "c")))
    assert again.status_code == 200, again.text
    done = platform.wait_bundle("trim")
    assert (done["status"], done["status_reason"]) == ("active", "1/1 applied")
    assert platform.get("depot", "trimdb").status_code == 404
    assert platform.get("instance-secret", "trim-a").status_code == 404
    assert platform.get("instance-secret", "trim-c").status_code == 200
    assert [m["id"] for m in done["members"]] == ["c"]
    depot_gone = platform.history("depot", "trimdb")[-1]
    secret_gone = platform.history("instance-secret", "trim-a")[-1]
    assert depot_gone["action"] == secret_gone["action"] == "deleted"
    assert depot_gone["applied_at"] <= secret_gone["applied_at"]  # dependents first


def test_a_dropped_member_an_outside_resource_uses_refuses_the_re_apply(
    platform: Platform,
) -> None:
    first = bundle("held", secret("held", "a"), secret("held", "b"))
    assert platform.apply(first).status_code == 200
    assert platform.wait_bundle("held")["status"] == "active"
    assert platform.apply(OUTSIDE_DEPOT.format(name="held", secret="b")).status_code == 200
    count = revisions(platform, "held")

    refused = platform.apply(bundle("held", secret("held", "a")))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert "instance-secret 'held-b' is no longer in bundle 'held'" in error["message"]
    assert "depot 'outsideheld'" in error["message"]
    assert "--force" in error["hint"]
    assert revisions(platform, "held") == count
    assert platform.get("instance-secret", "held-b").status_code == 200
    assert platform.bundle("held")["status"] == "active"


def test_who_may_update_a_bundle_but_not_delete_a_member_cannot_drop_it(
    platform: Platform,
) -> None:
    assert platform.apply(BUNDLES_FOR_DEVS).status_code == 200
    first = bundle(
        "shared", PUBLIC_SECRET_MEMBER.format(id="keep", name="shared"), secret("shared", "ops")
    )
    assert platform.apply(first).status_code == 200
    assert platform.wait_bundle("shared")["status"] == "active"
    count = revisions(platform, "shared")
    dave = platform.user_key("dave", ["roles:id:data-dev"])

    dropping = bundle("shared", PUBLIC_SECRET_MEMBER.format(id="keep", name="shared"))
    refused = platform.apply(dropping, key=dave)
    assert refused.status_code == 403, refused.text
    assert (
        "dave may not delete poros://instance-secret/shared-ops"
        in refused.json()["error"]["message"]
    )
    assert revisions(platform, "shared") == count
    assert platform.get("instance-secret", "shared-ops").status_code == 200
    assert platform.bundle("shared")["status"] == "active"


def test_a_member_moved_out_of_the_bundle_into_the_same_apply_stays(platform: Platform) -> None:
    assert platform.apply(bundle("move", secret("move", "a"), secret("move", "b"))).is_success
    assert platform.wait_bundle("move")["status"] == "active"
    alone = "name: move-b\nversion: v1\ntype: instance-secret\n"
    alone += "instance-secret: {type: key-value, acl: r, data: {k: v}}\n"
    moved = platform.apply(bundle("move", secret("move", "a")) + "---\n" + alone)
    assert moved.status_code == 200, moved.text
    assert platform.wait_bundle("move")["status"] == "active"
    assert platform.get("instance-secret", "move-b").status_code == 200
