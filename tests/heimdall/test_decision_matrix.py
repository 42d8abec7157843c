"""Access decisions, table-driven, on both Rego engines.

The policies are DataOS Policy manifests (YAML) read by the project's loader and compiled
by ``policy_data``; every case runs through a real regorus engine and OPA 1.20 in-process.
Each glob form has a policy of its own, reached through a role of its own (``roles:id:g-*``),
so that a case exercises exactly one rule.
"""

from __future__ import annotations

import importlib.util
from typing import NamedTuple

import pytest

from dataos_defs.heimdall.engine import create_engine
from dataos_defs.heimdall.pdp import AccessRequest, PolicyDecisionPoint
from dataos_defs.heimdall.policy_data import parse_policies

ENGINES = [
    "regorus",
    pytest.param(
        "opa",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("opa_bindings") is None,
            reason="opa-golib-python-bindings is not installed (see requirements/opa-golib.txt)",
        ),
    ),
]


def _policy(name: str, body: str, collection: str | None = None) -> str:
    where = f"    collection: {collection}\n" if collection else ""
    return f"name: {name}\nversion: v1\ntype: policy\npolicy:\n  access:\n{where}{body}"


def _glob_policy(role: str, path: str) -> str:
    return _policy(
        f"g-{role}",
        f"    subjects: {{tags: ['roles:id:g-{role}']}}\n"
        "    predicates: [read]\n"
        f"    objects: {{paths: ['{path}']}}\n"
        "    allow: true\n",
    )


MANIFESTS = "---\n".join(
    [
        _policy(
            "retail-readers",
            "    subjects: {tags: [[roles:id:user]]}\n"
            "    predicates: [read]\n"
            "    objects: {paths: ['dataos://lakehouse:retail/**']}\n"
            "    allow: true\n",
        ),
        _policy(
            "dev-or-alice",
            "    subjects:\n"
            "      tags:\n"
            "        - [roles:id:data-dev, 'dataos:workspace:team-a']\n"
            "        - [users:id:alice]\n"
            "    predicates: [read, write]\n"
            "    objects: {paths: ['dataos://lakehouse:sales/*']}\n"
            "    allow: true\n",
        ),
        _policy(
            "finance-flat",
            "    subjects: {tags: [roles:id:analyst, roles:id:auditor]}\n"
            "    predicates: [select]\n"
            "    objects: {paths: ['dataos://icebase:finance/ledger']}\n"
            "    allow: true\n",
        ),
        _policy(
            "b-users-profiles",
            "    subjects: {tags: ['users:id:b*']}\n"
            "    predicates: [get]\n"
            "    objects: {paths: ['/metis/api/v1/users/*']}\n"
            "    allow: true\n",
        ),
        _policy(
            "roles-see-metis",
            "    subjects: {tags: ['roles:**']}\n"
            "    predicates: [get]\n"
            "    objects: {paths: ['/metis/api/v2/**']}\n"
            "    allow: true\n",
        ),
        _policy(
            "id-roles-patch",
            "    subjects: {tags: [['roles:id:*', 'users:id:[!x-z]*']]}\n"
            "    predicates: [patch]\n"
            "    objects: {paths: ['/metis/api/v2/tags/*']}\n"
            "    allow: true\n",
        ),
        _glob_policy("q", "dataos://lake:c/file?"),
        _glob_policy("star", "dataos://lake:*/orders"),
        _glob_policy("dstar", "dataos://**/orders"),
        _glob_policy("class", "dataos://lake:c/t[abc]"),
        _glob_policy("range", "dataos://lake:c/v[1-3]"),
        _glob_policy("neg", "dataos://lake:c/x[!a-c]"),
        _glob_policy("alt", "dataos://lake:{sales,retail}/orders"),
        _glob_policy("nested", "dataos://lake:c/{a*,b{1,2}}"),
        _glob_policy("esc", "dataos://lake:c/a\\*b"),
        _glob_policy("escq", "dataos://lake:c/q\\?*"),
        _glob_policy("api", "/odin/*/v1"),
        _policy(
            "interns-read-retail",
            "    subjects: {tags: [roles:id:intern]}\n"
            "    predicates: [read]\n"
            "    objects: {paths: ['dataos://lakehouse:retail/**']}\n"
            "    allow: true\n",
        ),
        _policy(
            "interns-no-customers",
            "    subjects: {tags: [roles:id:intern]}\n"
            "    predicates: ['**']\n"
            "    objects: {paths: ['dataos://lakehouse:retail/customers']}\n"
            "    allow: false\n",
        ),
        _policy(
            "ops-everything",
            "    subjects: {tags: [roles:id:ops]}\n"
            "    predicates: ['**']\n"
            "    objects: {paths: ['dataos://lakehouse:ops/**']}\n"
            "    allow: true\n",
        ),
        _policy(
            "team-a-workflows",
            "    subjects: {tags: ['dataos:workspace:team-a']}\n"
            "    predicates: [create, read, update, delete]\n"
            "    objects: {paths: ['dataos://workflow:team-a/**']}\n"
            "    allow: true\n",
            collection="team-a",
        ),
        _policy(
            "team-b-workflows",
            "    subjects: {tags: ['dataos:workspace:team-b']}\n"
            "    predicates: [create, read, update, delete]\n"
            "    objects: {paths: ['dataos://workflow:team-b/**']}\n"
            "    allow: true\n",
            collection="team-b",
        ),
        _policy(
            "pii-column-readers",
            "    subjects: {tags: [roles:id:pii-reader]}\n"
            "    predicates: [read]\n"
            "    objects: {tags: [[PII.Email, 'dataos:type:column']]}\n"
            "    allow: true\n",
        ),
        _policy(
            "open-data",
            "    subjects: {tags: ['users:**']}\n"
            "    predicates: [read]\n"
            "    objects: {tags: [public, 'tier:*:gold']}\n"
            "    allow: true\n",
        ),
        _policy(
            "no-vault-delete",
            "    subjects: {tags: [roles:id:operator]}\n"
            "    predicates: [delete]\n"
            "    objects: {paths: ['dataos://vault:**']}\n"
            "    allow: false\n",
        ),
    ]
)


class Case(NamedTuple):
    subject: tuple[str, ...]
    predicate: str
    path: str | None
    allow: bool
    policy: str | None
    object_tags: tuple[str, ...] = ()


def role(name: str) -> tuple[str, ...]:
    return ("users:id:zed", f"roles:id:{name}")


LAKE = "dataos://lake:c/"
# fmt: off
CASES: dict[str, Case] = {
    # a plain role grant
    "role-reads-retail": Case(role("user"), "read", "dataos://lakehouse:retail/orders", True, "retail-readers"),
    "role-reads-retail-deep": Case(role("user"), "read", "dataos://lakehouse:retail/a/b", True, "retail-readers"),
    "role-cannot-write": Case(role("user"), "write", "dataos://lakehouse:retail/orders", False, None),
    "prefix-needs-separator": Case(role("user"), "read", "dataos://lakehouse:retail", False, None),
    "prefix-is-not-a-word-prefix": Case(role("user"), "read", "dataos://lakehouse:retailx/o", False, None),
    "other-role-denied": Case(role("viewer"), "read", "dataos://lakehouse:retail/orders", False, None),
    # OR of ANDs
    "and-group-complete": Case(("users:id:carol", "roles:id:data-dev", "dataos:workspace:team-a"), "write", "dataos://lakehouse:sales/q1", True, "dev-or-alice"),
    "and-group-missing-workspace": Case(("users:id:carol", "roles:id:data-dev"), "write", "dataos://lakehouse:sales/q1", False, None),
    "and-group-missing-role": Case(("users:id:carol", "dataos:workspace:team-a"), "read", "dataos://lakehouse:sales/q1", False, None),
    "or-second-group": Case(("users:id:alice",), "read", "dataos://lakehouse:sales/q1", True, "dev-or-alice"),
    "or-group-other-user": Case(("users:id:alicia",), "read", "dataos://lakehouse:sales/q1", False, None),
    # a flat tag list means any one of them
    "flat-first-tag": Case(role("analyst"), "select", "dataos://icebase:finance/ledger", True, "finance-flat"),
    "flat-second-tag": Case(role("auditor"), "select", "dataos://icebase:finance/ledger", True, "finance-flat"),
    "flat-no-tag": Case(role("clerk"), "select", "dataos://icebase:finance/ledger", False, None),
    "flat-exact-path-only": Case(role("analyst"), "select", "dataos://icebase:finance/ledgers", False, None),
    # tag globs
    "tag-star": Case(("users:id:bob",), "get", "/metis/api/v1/users/bob", True, "b-users-profiles"),
    "tag-star-empty-run": Case(("users:id:b",), "get", "/metis/api/v1/users/b", True, "b-users-profiles"),
    "tag-star-no-level-crossing": Case(("users:id:b:x",), "get", "/metis/api/v1/users/b", False, None),
    "tag-star-other-letter": Case(("users:id:carl",), "get", "/metis/api/v1/users/c", False, None),
    "tag-doublestar": Case(("roles:team:x:lead",), "get", "/metis/api/v2/datasets/orders", True, "roles-see-metis"),
    "tag-doublestar-other-namespace": Case(("users:id:bob",), "get", "/metis/api/v2/datasets", False, None),
    "tag-glob-and-negated-class": Case(("roles:id:any", "users:id:mia"), "patch", "/metis/api/v2/tags/t1", True, "id-roles-patch"),
    "tag-negated-class-excluded": Case(("roles:id:any", "users:id:yan"), "patch", "/metis/api/v2/tags/t1", False, None),
    "tag-star-one-level-only": Case(("roles:id:a:b", "users:id:mia"), "patch", "/metis/api/v2/tags/t1", False, None),
    # path globs: ?
    "qmark-one-char": Case(role("g-q"), "read", LAKE + "file1", True, "g-q"),
    "qmark-not-zero": Case(role("g-q"), "read", LAKE + "file", False, None),
    "qmark-not-two": Case(role("g-q"), "read", LAKE + "file12", False, None),
    "qmark-not-slash": Case(role("g-q"), "read", LAKE + "file/", False, None),
    "qmark-not-colon": Case(role("g-q"), "read", LAKE + "file:", False, None),
    # *
    "star-one-level": Case(role("g-star"), "read", "dataos://lake:sales/orders", True, "g-star"),
    "star-not-across-slash": Case(role("g-star"), "read", "dataos://lake:a/b/orders", False, None),
    "star-not-across-colon": Case(role("g-star"), "read", "dataos://lake:a:b/orders", False, None),
    # **
    "doublestar-across-levels": Case(role("g-dstar"), "read", "dataos://lake:x/y/orders", True, "g-dstar"),
    "doublestar-across-colon": Case(role("g-dstar"), "read", "dataos://a:b:c/orders", True, "g-dstar"),
    "doublestar-suffix-kept": Case(role("g-dstar"), "read", "dataos://lake:x/orders2", False, None),
    "doublestar-newline": Case(role("g-dstar"), "read", "dataos://lake:x\n/orders", True, "g-dstar"),
    # [abc], [a-c], [!a-c]
    "class-member": Case(role("g-class"), "read", LAKE + "tb", True, "g-class"),
    "class-non-member": Case(role("g-class"), "read", LAKE + "td", False, None),
    "class-one-char": Case(role("g-class"), "read", LAKE + "tab", False, None),
    "range-member": Case(role("g-range"), "read", LAKE + "v2", True, "g-range"),
    "range-non-member": Case(role("g-range"), "read", LAKE + "v4", False, None),
    "negated-member": Case(role("g-neg"), "read", LAKE + "xd", True, "g-neg"),
    "negated-excluded": Case(role("g-neg"), "read", LAKE + "xb", False, None),
    "negated-not-separator": Case(role("g-neg"), "read", LAKE + "x/", False, None),
    # {x,y}
    "alt-first": Case(role("g-alt"), "read", "dataos://lake:sales/orders", True, "g-alt"),
    "alt-second": Case(role("g-alt"), "read", "dataos://lake:retail/orders", True, "g-alt"),
    "alt-neither": Case(role("g-alt"), "read", "dataos://lake:hr/orders", False, None),
    "alt-nested-glob": Case(role("g-nested"), "read", LAKE + "abc", True, "g-nested"),
    "alt-nested-braces": Case(role("g-nested"), "read", LAKE + "b2", True, "g-nested"),
    "alt-nested-miss": Case(role("g-nested"), "read", LAKE + "b3", False, None),
    # \ escapes
    "escaped-star-literal": Case(role("g-esc"), "read", LAKE + "a*b", True, "g-esc"),
    "escaped-star-not-wild": Case(role("g-esc"), "read", LAKE + "axb", False, None),
    "escaped-qmark-literal": Case(role("g-escq"), "read", LAKE + "q?rest", True, "g-escq"),
    "escaped-qmark-not-wild": Case(role("g-escq"), "read", LAKE + "qxrest", False, None),
    # API paths: / separates levels
    "api-star-one-level": Case(role("g-api"), "read", "/odin/api/v1", True, "g-api"),
    "api-star-not-two-levels": Case(role("g-api"), "read", "/odin/a/b/v1", False, None),
    # an explicit deny beats any allow
    "deny-beats-allow": Case(role("intern"), "read", "dataos://lakehouse:retail/customers", False, "interns-no-customers"),
    "deny-beats-two-allows": Case(("roles:id:intern", "roles:id:user"), "read", "dataos://lakehouse:retail/customers", False, "interns-no-customers"),
    "allow-beside-deny": Case(role("intern"), "read", "dataos://lakehouse:retail/orders", True, "interns-read-retail"),
    "deny-without-allow": Case(role("intern"), "write", "dataos://lakehouse:retail/customers", False, "interns-no-customers"),
    # predicates: **
    "any-predicate-delete": Case(role("ops"), "delete", "dataos://lakehouse:ops/jobs", True, "ops-everything"),
    "any-predicate-options": Case(role("ops"), "options", "dataos://lakehouse:ops/jobs", True, "ops-everything"),
    "any-predicate-wrong-path": Case(role("ops"), "read", "dataos://lakehouse:retail/x", False, None),
    "predicate-not-listed": Case(role("analyst"), "read", "dataos://icebase:finance/ledger", False, None),
    # workspaces and collections
    "workspace-own": Case(("users:id:ann", "dataos:workspace:team-a"), "create", "dataos://workflow:team-a/etl", True, "team-a-workflows"),
    "workspace-isolation": Case(("users:id:ann", "dataos:workspace:team-a"), "read", "dataos://workflow:team-b/x", False, None),
    "workspace-other-team": Case(("users:id:bo", "dataos:workspace:team-b"), "delete", "dataos://workflow:team-b/x", True, "team-b-workflows"),
    "workspace-name-prefix": Case(("users:id:ann", "dataos:workspace:team-a"), "read", "dataos://workflow:team-ab/x", False, None),
    # object tags
    "object-tag-group": Case(role("pii-reader"), "read", None, True, "pii-column-readers", ("PII.Email", "dataos:type:column")),
    "object-tag-group-partial": Case(role("pii-reader"), "read", None, False, None, ("PII.Email",)),
    "object-tag-flat": Case(("users:id:zed",), "read", "dataos://x:y/z", True, "open-data", ("public",)),
    "object-tag-glob": Case(("users:id:zed",), "read", None, True, "open-data", ("tier:data:gold",)),
    "object-tag-glob-level": Case(("users:id:zed",), "read", None, False, None, ("tier:a:b:gold",)),
    "object-no-tags-no-path": Case(("users:id:zed",), "read", None, False, None),
    # the system operator, and a deny that binds even it
    "operator-anything": Case(("roles:id:operator",), "put", "/poros/api/v1/resources", True, "system-operator"),
    "operator-tag-only-object": Case(("roles:id:operator",), "read", None, True, "system-operator", ("x",)),
    "operator-denied-explicitly": Case(("roles:id:operator",), "delete", "dataos://vault:k/s", False, "no-vault-delete"),
    "no-subject-tags": Case((), "read", "dataos://lakehouse:retail/orders", False, None),
}
# fmt: on

COLLECTIONS = {
    "team-a-workflows": "team-a",
    "team-b-workflows": "team-b",
    "system-operator": "system",
}


@pytest.fixture(scope="module", params=ENGINES)
def pdp(request: pytest.FixtureRequest) -> PolicyDecisionPoint:
    point = PolicyDecisionPoint(create_engine(request.param), cache_size=0)
    point.set_policies(parse_policies(MANIFESTS, "matrix.yaml"))
    return point


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decision(pdp: PolicyDecisionPoint, case: Case) -> None:
    request = AccessRequest.of(case.subject, case.predicate, case.path, case.object_tags)
    decision = pdp.decide(request)
    assert (decision.allow, decision.policy) == (case.allow, case.policy)
    if case.policy is None:
        target = case.path or f"objects tagged [{', '.join(sorted(case.object_tags))}]"
        assert decision.reason == f"no policy allows {case.predicate} on {target}"
        assert decision.collection is None
    else:
        verb = "allowed" if case.allow else "denied"
        assert decision.reason == f"{verb} by policy {case.policy}"
        assert decision.collection == COLLECTIONS.get(case.policy, "default")
