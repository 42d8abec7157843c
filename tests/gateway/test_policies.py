"""Which data policies govern a user on a table: scope, user and column selection, priority.

Policies are DataOS Policy manifests read by the project's loader, as `dataos-ctl apply`
reads them.
"""

from __future__ import annotations

import pytest

from dataos_defs.gateway.model import Column, Governance, Table, TableName
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.heimdall.policy_data import PolicyDataError, parse_policies
from dataos_defs.manifest.policy_parts import RowFilter


def _policy(name: str, data: str) -> str:
    return f"{{name: {name}, version: v1, type: policy, policy: {{data: {data}}}}}\n"


def _mask(name: str, selector: str, mask: str, extra: str = "") -> str:
    return _policy(name, f"{{type: mask, {extra}selector: {selector}, mask: {mask}}}")


USERS = "{match: any, tags: ['users:**']}"
# fmt: off
MANIFESTS = "---\n".join([
    _mask("email-hash", "{user: {tags: [roles:id:user]}, column: {names: [EMAIL]}}", "{operator: hash, hash: {algo: sha256}}", "priority: 50, dataset_id: lakehouse.retail.customers, "),
    _mask("email-clear", "{user: {tags: [roles:id:pii-reader]}, column: {names: [email]}}", "{operator: pass_through}", "priority: 10, dataset_id: lakehouse.retail.customers, "),
    _mask("pii-redact", f"{{user: {USERS}, column: {{tags: ['PII.*']}}}}", "{operator: redact}"),
    _mask("ages", f"{{user: {USERS}, column: {{names: [age]}}}}", "{operator: bucket_number, bucket_number: {buckets: [18, 25, 35, 50, 65]}}", "priority: 99, depot: lakehouse, collection: '**', "),
    _mask("ages-b", f"{{user: {USERS}, column: {{names: [age]}}}}", "{operator: redact}", "priority: 99, depot: lakehouse, "),
    _mask("phones-all", "{user: {match: all, tags: [roles:id:user, 'users:id:a*']}, column: {names: [phone]}}", "{operator: rand_pattern, rand_pattern: {pattern: '###'}}", "depot: 'lake*', collection: 'ret?il', dataset: '{customers,orders}', "),
    _mask("archived", f"{{user: {USERS}, column: {{names: [id]}}}}", "{operator: redact}", "isArchived: true, "),
    _mask("sales-ids", f"{{user: {USERS}, column: {{names: [id]}}}}", "{operator: redact}", "priority: 1, depot: pg, collection: 'sales_**', "),
    _policy("eu", "{type: filter, dataset_id: lakehouse.retail.customers, selector: {user: {tags: [roles:id:user]}}, filters: [{column: region, operator: equals, value: EU}]}"),
    _policy("adults", "{type: filter, dataset: customers, selector: {user: {match: all, tags: [roles:id:user, roles:id:intern]}}, filters: [{column: age, operator: greater_than_equals, value: 18}, {column: status, operator: in, value: [open]}]}"),
    "{name: readers, version: v1, type: policy, policy: {access: {subjects: {tags: [roles:id:user]}, predicates: [read], objects: {paths: ['dataos://lakehouse:**']}, allow: true}}}\n",
])
# fmt: on
ALICE = ("users:id:alice", "roles:id:user")
BOB = ("users:id:bob", "roles:id:user", "roles:id:pii-reader")
IVAN = ("users:id:ivan", "roles:id:user", "roles:id:intern")
NOBODY: tuple[str, ...] = ()
CUSTOMERS = Table(
    name=TableName("lakehouse", "retail", "customers"),
    columns=(
        Column("id", "INTEGER"),
        Column("Email", "VARCHAR"),
        Column("age", "INTEGER"),
        Column("phone", "VARCHAR", ("PII.PhoneNumber",)),
        Column("ssn", "VARCHAR", ("Restricted", "PII.SocialSecurityNumber")),
        Column("notes", "VARCHAR", ("PIIX.Note", "pii.lower")),
        Column("region", "VARCHAR"),
    ),
    physical='"lakehouse"."retail"."customers"',
)


def table(depot: str, collection: str, dataset: str) -> Table:
    return Table(TableName(depot, collection, dataset), CUSTOMERS.columns, "t")


@pytest.fixture(scope="module")
def policies() -> DataPolicies:
    return DataPolicies(parse_policies(MANIFESTS, "policies.yaml"))


def winners(governance: Governance) -> dict[str, str]:
    return {column: applied.policy for column, applied in governance.masks.items()}


def test_lower_priority_number_wins_and_default_is_100(policies: DataPolicies) -> None:
    alice = policies.governance(CUSTOMERS, ALICE)
    assert winners(alice) == {
        "Email": "email-hash",
        "age": "ages",
        "phone": "phones-all",
        "ssn": "pii-redact",
    }
    assert alice.masks["Email"].priority == 50
    assert alice.masks["Email"].mask.operator == "hash"
    assert alice.masks["phone"].priority == 100, "no priority: 100, tied with pii-redact"


def test_a_tie_goes_to_the_first_name(policies: DataPolicies) -> None:
    """ages and ages-b have priority 99; phones-all and pii-redact have none (100)."""
    alice = policies.governance(CUSTOMERS, ALICE)
    assert alice.masks["age"].mask.operator == "bucket_number"
    assert alice.masks["phone"].policy == "phones-all"


def test_pass_through_exempts(policies: DataPolicies) -> None:
    bob = policies.governance(CUSTOMERS, BOB)
    assert "Email" not in bob.masks
    assert bob.exempted == ("email-clear",)
    assert "email-clear" in bob.policies


def test_match_any_and_all(policies: DataPolicies) -> None:
    assert "phone" in policies.governance(CUSTOMERS, ALICE).masks, "all: user and users:id:a*"
    bobs_phone = policies.governance(CUSTOMERS, BOB).masks["phone"]
    assert bobs_phone.policy == "pii-redact", "bob is not users:id:a*: the PII tag mask applies"
    adults = [f.policy for f in policies.governance(CUSTOMERS, IVAN).filters]
    assert adults == ["adults", "eu"]
    assert [f.policy for f in policies.governance(CUSTOMERS, ALICE).filters] == ["eu"]


def test_columns_by_name_ignore_case_and_by_tag_glob(policies: DataPolicies) -> None:
    alice = policies.governance(CUSTOMERS, ALICE)
    assert "Email" in alice.masks, "names: [EMAIL] selects Email"
    assert alice.masks["ssn"].policy == "pii-redact", "PII.* matches PII.SocialSecurityNumber"
    assert "notes" not in alice.masks, "PII.* matches neither PIIX.Note nor pii.lower"
    assert "region" not in alice.masks and "id" not in alice.masks


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (("lakehouse", "retail", "customers"), {"Email": "email-hash", "age": "ages", "phone": "phones-all"}),
        (("lakehouse", "retail", "orders"), {"age": "ages", "phone": "phones-all"}),
        (("lakehouse", "retail", "items"), {"age": "ages"}),
        (("lakehouse", "retail.x", "customers"), {"age": "ages"}),
        (("lakehouse", "hr", "customers"), {"age": "ages"}),
        (("lakehouse2", "retail", "customers"), {"phone": "phones-all"}),
        (("pg", "sales_eu", "deals"), {"id": "sales-ids"}),
        (("pg", "sales", "deals"), {}),
    ],
)  # fmt: skip
def test_scope_by_globs_and_dataset_id(
    policies: DataPolicies, where: tuple[str, str, str], expected: dict[str, str]
) -> None:
    """pii-redact (every dataset) masks the PII-tagged columns wherever no other mask wins."""
    found = winners(policies.governance(table(*where), ALICE))
    assert {c: p for c, p in found.items() if p != "pii-redact"} == expected
    assert found["ssn"] == "pii-redact"


def test_archived_policies_are_ignored(policies: DataPolicies) -> None:
    assert "archived" not in policies.fingerprint(ALICE)
    assert "id" not in policies.governance(CUSTOMERS, ALICE).masks


def test_filters_apply_in_scope_only_and_are_anded(policies: DataPolicies) -> None:
    ivan = policies.governance(CUSTOMERS, IVAN)
    assert [f.filters for f in ivan.filters] == [
        (
            RowFilter(column="age", operator="greater_than_equals", value=18),
            RowFilter(column="status", operator="in", value=["open"]),
        ),
        (RowFilter(column="region", operator="equals", value="EU"),),
    ]
    assert [f.policy for f in policies.governance(table("pg", "x", "customers"), IVAN).filters] == [
        "adults"
    ]
    assert policies.governance(table("lakehouse", "retail", "orders"), IVAN).filters == ()


def test_users_not_selected_get_nothing(policies: DataPolicies) -> None:
    assert policies.governance(CUSTOMERS, NOBODY) == Governance()
    assert policies.fingerprint(NOBODY) == ()
    assert policies.governance(CUSTOMERS, ("roles:id:user2",)) == Governance()


def test_fingerprint_names_the_policies_selecting_the_user(policies: DataPolicies) -> None:
    assert policies.fingerprint(ALICE) == (
        "ages", "ages-b", "email-hash", "eu", "phones-all", "pii-redact", "sales-ids",
    )  # fmt: skip
    assert policies.fingerprint(reversed(ALICE)) == policies.fingerprint(ALICE)
    assert "email-clear" in policies.fingerprint(BOB)


def test_answers_are_memoized_per_table_columns_and_tags(policies: DataPolicies) -> None:
    first = policies.governance(CUSTOMERS, ALICE)
    assert policies.governance(CUSTOMERS, list(reversed(ALICE))) is first
    retagged = Table(CUSTOMERS.name, (*CUSTOMERS.columns[:-1], Column("region", "VARCHAR", ("PII.Region",))), "t")  # fmt: skip
    assert "region" in policies.governance(retagged, ALICE).masks


def test_same_rules_as_the_trino_compiler() -> None:
    duplicate = _mask("twin", f"{{user: {USERS}, column: {{names: [a]}}}}", "{operator: redact}")
    with pytest.raises(PolicyDataError, match="two data policies"):
        DataPolicies(parse_policies(duplicate, "x.yaml") * 2)
    assert DataPolicies([]).governance(CUSTOMERS, ALICE) == Governance()
