"""Trino's OPA access-control plugin answered from DataOS policies, on both Rego engines.

Requests have the exact shapes the plugin (``io.trino.plugin.opa``) posts as ``input``;
answers are what it reads from ``result``. The policies are DataOS Policy manifests read by
the project's loader and compiled by ``policy_data`` and ``trino_data``.
"""

from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.heimdall import trino_data
from dataos_defs.heimdall.engine import UNDEFINED, create_engine
from dataos_defs.heimdall.pdp import PolicyDecisionPoint, policy_modules, run_rego_tests
from dataos_defs.heimdall.policy_data import PolicyDataError, parse_policies
from dataos_defs.heimdall.trino_data import (
    compile_column_tags,
    compile_data_policies,
    compile_identities,
    expand_alternatives,
    filter_expression,
    path_reach,
    quote_identifier,
    quote_literal,
    trino_document,
)
from dataos_defs.manifest.policy_parts import RowFilter

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
REPO = Path(__file__).resolve().parents[2]
HEIMDALL_DIR = REPO / "policies" / "heimdall"
TRINO_DIR = REPO / "policies" / "trino"


def _policy(name: str, section: str) -> str:
    return f"{{name: {name}, version: v1, type: policy, policy: {section}}}\n"


# One Policy manifest a line (YAML flow style), as `dataos-ctl apply` reads them.
# fmt: off
CUSTOMERS = "dataset_id: lakehouse.retail.customers"
EVERYONE = "{match: any, tags: ['users:**']}"
MANIFESTS = "---\n".join([
    _policy("readers", "{access: {subjects: {tags: [roles:id:user]}, predicates: [read], objects: {paths: ['dataos://lakehouse:{retail,hr}/**']}, allow: true}}"),
    _policy("devs", "{access: {subjects: {tags: [roles:id:data-dev]}, predicates: [read, write, create, update, delete], objects: {paths: ['dataos://lakehouse:**', 'dataos://lakehouse:*']}, allow: true}}"),
    _policy("analysts", "{access: {subjects: {tags: [roles:id:analyst]}, predicates: [select], objects: {paths: ['dataos://pg:sales/*']}, allow: true}}"),
    _policy("no-secrets", "{access: {subjects: {tags: ['users:**']}, predicates: ['**'], objects: {paths: [dataos://lakehouse:retail/secrets]}, allow: false}}"),
    _policy("no-hr-for-interns", "{access: {subjects: {tags: [roles:id:intern]}, predicates: [read], objects: {paths: ['dataos://lakehouse:hr/**']}}}"),
    _policy("no-restricted-columns", "{access: {subjects: {tags: ['users:**']}, predicates: [read], objects: {tags: [[Restricted.Secret, 'dataos:type:column']]}}}"),
    _policy("email-hash", f"{{data: {{type: mask, priority: 50, {CUSTOMERS}, selector: {{user: {{match: any, tags: [roles:id:user]}}, column: {{names: [email]}}}}, mask: {{operator: hash, hash: {{algo: sha256}}}}}}}}"),
    _policy("email-readers", f"{{data: {{type: mask, priority: 10, {CUSTOMERS}, selector: {{user: {{match: any, tags: [roles:id:pii-reader]}}, column: {{names: [email]}}}}, mask: {{operator: pass_through}}}}}}"),
    _policy("phones", f"{{data: {{type: mask, priority: 99, depot: '**', selector: {{user: {EVERYONE}, column: {{tags: [PII.PhoneNumber]}}}}, mask: {{operator: redact}}}}}}"),
    _policy("ages", f"{{data: {{type: mask, priority: 99, selector: {{user: {EVERYONE}, column: {{names: [age, score, nickname]}}}}, mask: {{operator: bucket_number, bucket_number: {{buckets: [18, 25, 35, 50, 65]}}}}}}}}"),
    _policy("birthdays", f"{{data: {{type: mask, priority: 99, selector: {{user: {EVERYONE}, column: {{tags: ['PII.Date*']}}}}, mask: {{operator: bucket_date, bucket_date: {{precision: year}}}}}}}}"),
    _policy("ids", f"{{data: {{type: mask, priority: 99, selector: {{user: {EVERYONE}, column: {{tags: [PII.SocialSecurityNumber]}}}}, mask: {{operator: rand_pattern, rand_pattern: {{pattern: '###-##-####'}}}}}}}}"),
    _policy("notes", "{data: {type: mask, priority: 99, selector: {user: {match: all, tags: [roles:id:user, 'users:id:a*']}, column: {names: ['we\"ird', notes]}}, mask: {operator: regex_replace, regex_replace: {pattern: '[0-9]', replacement: \"'\"}}}}"),
    _policy("eu-orders", "{data: {type: filter, dataset_id: lakehouse.retail.orders, selector: {user: {match: any, tags: [roles:id:user]}}, filters: [{column: region, operator: equals, value: EU}]}}"),
    _policy("small-orders-for-bob", "{data: {type: filter, depot: lakehouse, collection: retail, dataset: 'ord*', selector: {user: {match: all, tags: [roles:id:user, users:id:bob]}}, filters: [{column: amount, operator: less_than, value: 1000}, {column: status, operator: in, value: [open, 'it''s']}]}}"),
])
# fmt: on
IDENTITIES = {
    "alice": ["roles:id:user"],
    "bob": ["roles:id:user", "roles:id:pii-reader"],
    "carol": ["roles:id:data-dev"],
    "ivan": ["roles:id:user", "roles:id:intern"],
    "dave": [],
}  # fmt: skip
COLUMN_TAGS = {"lakehouse.retail.customers": {"phone": ["PII.PhoneNumber"], "birthday": ["PII.DateOfBirth"], "national_id": ["PII.SocialSecurityNumber"], "secret_note": ["Restricted.Secret"]}}  # fmt: skip
CONTEXT = {"softwareStack": {"trinoVersion": "476"}, "queryId": "20260101_000000_00001_abcde"}


def request(user: str | None, operation: str, *groups: str, **action: Any) -> dict[str, Any]:
    """The plugin's ``input``: ``context`` (identity, software stack, query id) and ``action``."""
    identity = {"groups": list(groups)} | ({"user": user} if user is not None else {})
    return {"context": {"identity": identity, **CONTEXT}, "action": {"operation": operation, **action}}  # fmt: skip


def resource(spec: str) -> dict[str, Any]:
    """``table:c.s.t[:col,col]`` (a trailing ``:`` for no columns), ``schema:c.s``,
    ``catalog:c``, ``user:u``, ``function:c.s.f``, ``property:p`` or
    ``column:c.s.t.col:type`` as the plugin's resource object."""
    kind, _, rest = spec.partition(":")
    if kind == "table":
        name, colon, columns = rest.partition(":")
        catalog, schema, table = name.split(".")
        found: dict[str, Any] = {"catalogName": catalog, "schemaName": schema, "tableName": table}
        if colon:
            found["columns"] = columns.split(",") if columns else []
        return {"table": found}
    if kind == "column":
        name, _, column_type = rest.partition(":")
        catalog, schema, table, column = name.split(".", 3)
        return {"column": {"catalogName": catalog, "schemaName": schema, "tableName": table, "columnName": column, "columnType": column_type}}  # fmt: skip
    if kind == "schema":
        catalog, schema = rest.split(".")
        return {"schema": {"catalogName": catalog, "schemaName": schema}}
    if kind == "function":
        catalog, schema, name = rest.split(".")
        return {"function": {"catalogName": catalog, "schemaName": schema, "functionName": name}}
    shapes = {"catalog": {"name": rest}, "user": {"user": rest, "groups": []}, "property": {"name": rest}}  # fmt: skip
    return {{"property": "systemSessionProperty"}.get(kind, kind): shapes[kind]}


@pytest.fixture(scope="module", params=ENGINES)
def pdp(request: pytest.FixtureRequest) -> PolicyDecisionPoint:
    modules = {**policy_modules(HEIMDALL_DIR), **policy_modules(TRINO_DIR)}
    point = PolicyDecisionPoint(create_engine(request.param), modules=modules, timeout=10.0)
    policies = parse_policies(MANIFESTS, "trino-test.yaml")
    point.set_data(trino_document(policies, identities=IDENTITIES, column_tags=COLUMN_TAGS, system=False))  # fmt: skip
    return point


def ask(pdp: PolicyDecisionPoint, rule: str, input: dict[str, Any]) -> Any:
    return pdp.query(f"data.trino.{rule}", input)


def batch(pdp: PolicyDecisionPoint, who: str, operation: str, specs: list[str]) -> Any:
    user, *groups = who.split("+")
    resources = [resource(spec) for spec in specs]
    return ask(pdp, "batch", request(user, operation, *groups, filterResources=resources))


# user[+group] operation [resource [targetResource]] expected
OPERATIONS = """\
alice SelectFromColumns table:lakehouse.retail.orders:id,region allow
alice ShowColumns table:lakehouse.retail.orders allow
alice SelectFromColumns table:pg.sales.deals:id deny
alice InsertIntoTable table:lakehouse.retail.orders deny
alice DropTable table:lakehouse.retail.orders deny
alice SelectFromColumns table:lakehouse.retail.secrets:x deny
alice SelectFromColumns table:lakehouse.retail.customers:id,secret_note deny
alice SelectFromColumns table:lakehouse.retail.customers:id,email allow
dave+analyst SelectFromColumns table:pg.sales.deals:id allow
dave+analyst SelectFromColumns table:pg.sales.deals: allow
dave SelectFromColumns table:pg.sales.deals:id deny
carol InsertIntoTable table:lakehouse.retail.orders allow
carol DeleteFromTable table:lakehouse.retail.orders allow
carol TruncateTable table:lakehouse.retail.orders allow
carol UpdateTableColumns table:lakehouse.retail.orders:id allow
carol CreateTable table:lakehouse.retail.new allow
carol DropTable table:lakehouse.retail.orders allow
carol AddColumn table:lakehouse.retail.orders allow
carol CreateTable table:pg.sales.new deny
carol SelectFromColumns table:lakehouse.retail.secrets:x deny
carol DropTable table:lakehouse.retail.secrets deny
carol CreateSchema schema:lakehouse.new allow
alice CreateSchema schema:lakehouse.new deny
carol DropSchema schema:lakehouse.old allow
carol RenameTable table:lakehouse.retail.orders table:lakehouse.retail.orders2 allow
carol RenameTable table:lakehouse.retail.orders table:pg.sales.orders deny
carol RenameSchema schema:lakehouse.a schema:lakehouse.b allow
carol CreateCatalog catalog:new deny
alice ExecuteQuery allow
dave+analyst ExecuteQuery allow
dave ExecuteQuery deny
mallory ExecuteQuery deny
-+user ExecuteQuery deny
alice AccessCatalog catalog:lakehouse allow
alice AccessCatalog catalog:pg deny
alice AccessCatalog catalog:system allow
alice ShowSchemas catalog:lakehouse allow
alice ShowTables schema:lakehouse.retail allow
alice ShowTables schema:lakehouse.sales deny
alice SelectFromColumns table:lakehouse.information_schema.tables:table_name allow
alice SelectFromColumns table:pg.information_schema.tables:table_name deny
alice SelectFromColumns table:system.jdbc.tables:table_name allow
alice SelectFromColumns table:system.runtime.queries:query deny
alice FilterColumns table:lakehouse.retail.customers:phone allow
alice FilterColumns table:lakehouse.retail.customers:secret_note deny
alice ViewQueryOwnedBy user:alice allow
alice KillQueryOwnedBy user:bob deny
alice SetSystemSessionProperty property:x deny
alice FrobnicateTable table:lakehouse.retail.orders deny
alice ExecuteFunction function:lakehouse.retail.f deny
alice GrantTablePrivilege table:lakehouse.retail.orders deny
""".splitlines()


@pytest.mark.parametrize("case", OPERATIONS)
def test_allow_per_operation(pdp: PolicyDecisionPoint, case: str) -> None:
    who, operation, *specs, expected = case.split()
    user, *groups = who.split("+")
    action = dict(zip(("resource", "targetResource"), map(resource, specs), strict=False))
    answer = ask(pdp, "allow", request(None if user == "-" else user, operation, *groups, **action))
    assert answer is (expected == "allow")


def test_batch_catalogs(pdp: PolicyDecisionPoint) -> None:
    catalogs = [f"catalog:{n}" for n in ["lakehouse", "pg", "system", "other"]]
    assert batch(pdp, "alice", "FilterCatalogs", catalogs) == [0, 2]
    assert batch(pdp, "dave+analyst", "FilterCatalogs", catalogs) == [1, 2]
    assert batch(pdp, "dave", "FilterCatalogs", catalogs) == []


def test_batch_schemas_hidden_by_a_covering_deny(pdp: PolicyDecisionPoint) -> None:
    schemas = [f"schema:lakehouse.{s}" for s in ["retail", "hr", "sales", "information_schema"]]
    assert batch(pdp, "alice", "FilterSchemas", schemas) == [0, 1, 3]
    assert batch(pdp, "ivan", "FilterSchemas", schemas) == [0, 3]
    assert batch(pdp, "carol", "FilterSchemas", schemas) == [0, 1, 2, 3]


def test_batch_tables(pdp: PolicyDecisionPoint) -> None:
    tables = [f"table:{t}" for t in ["lakehouse.retail.orders", "lakehouse.retail.secrets", "lakehouse.retail.customers", "pg.sales.deals"]]  # fmt: skip
    assert batch(pdp, "alice", "FilterTables", tables) == [0, 2]
    assert batch(pdp, "dave+analyst", "FilterTables", tables) == [3]


def test_batch_columns_index_the_columns_of_the_one_table(pdp: PolicyDecisionPoint) -> None:
    customers = "table:lakehouse.retail.customers:id,secret_note,email,phone"
    assert batch(pdp, "alice", "FilterColumns", [customers]) == [0, 2, 3]
    assert batch(pdp, "alice", "FilterColumns", ["table:pg.sales.deals:id"]) == []


def row_filters(pdp: PolicyDecisionPoint, user: str, spec: str) -> Any:
    return ask(pdp, "rowFilters", request(user, "GetRowFilters", resource=resource(spec)))


def test_row_filters(pdp: PolicyDecisionPoint) -> None:
    orders = "table:lakehouse.retail.orders"
    assert row_filters(pdp, "alice", orders) == [{"expression": "\"region\" = 'EU'"}]
    assert sorted(f["expression"] for f in row_filters(pdp, "bob", orders)) == [
        "\"region\" = 'EU'",
        "(\"amount\" < 1000) AND (\"status\" IN ('open', 'it''s'))",
    ]
    assert row_filters(pdp, "carol", orders) == []
    assert row_filters(pdp, "alice", "table:lakehouse.retail.customers") == []


def column_mask(pdp: PolicyDecisionPoint, user: str, name: str, column_type: str) -> Any:
    spec = f"column:{name if '.' in name else 'lakehouse.retail.customers.' + name}:{column_type}"
    return ask(pdp, "columnMask", request(user, "GetColumnMask", resource=resource(spec)))


HASHED = 'lower(to_hex(sha256(to_utf8(CAST("email" AS varchar)))))'
DIGIT = "CAST(random(10) AS varchar)"
SSN = " || ".join([DIGIT] * 3 + ["'-'"] + [DIGIT] * 2 + ["'-'"] + [DIGIT] * 4)


def buckets(name: str, column_type: str) -> str:
    cases = " ".join(f'WHEN "{name}" >= {b} THEN {b}' for b in (65, 50, 35, 25, 18))
    return f"CAST(CASE {cases} ELSE NULL END AS {column_type})"


# fmt: off
MASKS = [
    ("email", "varchar", HASHED),
    ("email", "varchar(64)", f"CAST({HASHED} AS varchar(64))"),
    ("email", "integer", "CAST(NULL AS integer)"),
    ("phone", "varchar", "'REDACTED'"),
    ("phone", "char(8)", "CAST('REDACTED' AS char(8))"),
    ("phone", "bigint", "CAST(NULL AS bigint)"),
    ("phone", "array(varchar)", "NULL"),
    ("age", "integer", buckets("age", "integer")),
    ("score", "decimal(10,2)", buckets("score", "decimal(10,2)")),
    ("nickname", "varchar", "CAST(NULL AS varchar)"),
    ("birthday", "date", "date_trunc('year', \"birthday\")"),
    ("birthday", "timestamp(3) with time zone", "date_trunc('year', \"birthday\")"),
    ("birthday", "varchar", "CAST(NULL AS varchar)"),
    ("national_id", "varchar", f'IF("national_id" IS NULL, NULL, {SSN})'),
    ('we"ird', "varchar", "regexp_replace(\"we\"\"ird\", '[0-9]', '''')"),
    ("notes", "VARCHAR(10)", "CAST(regexp_replace(\"notes\", '[0-9]', '''') AS varchar(10))"),
]
# fmt: on


@pytest.mark.parametrize(("name", "column_type", "expected"), MASKS)
def test_column_mask_per_operator_and_type(pdp: PolicyDecisionPoint, name: str, column_type: str, expected: str) -> None:  # fmt: skip
    assert column_mask(pdp, "alice", name, column_type) == {"expression": expected}


def test_lowest_priority_number_wins(pdp: PolicyDecisionPoint) -> None:
    """bob is a user (hash, priority 50) and a pii-reader (pass_through, priority 10)."""
    assert column_mask(pdp, "bob", "email", "varchar") is UNDEFINED
    assert column_mask(pdp, "alice", "email", "varchar") == {"expression": HASHED}


def test_no_mask_outside_scope_or_selection(pdp: PolicyDecisionPoint) -> None:
    assert column_mask(pdp, "alice", "lakehouse.retail.orders.email", "varchar") is UNDEFINED
    assert column_mask(pdp, "alice", "id", "bigint") is UNDEFINED
    assert column_mask(pdp, "ivan", "notes", "varchar") is UNDEFINED, "match: all"
    assert column_mask(pdp, "carol", "email", "varchar") is UNDEFINED


def test_batch_column_masks(pdp: PolicyDecisionPoint) -> None:
    specs = ["id:bigint", "email:varchar", "phone:integer"]
    resources = [resource(f"column:lakehouse.retail.customers.{s}") for s in specs]
    alices = ask(pdp, "batchColumnMasks", request("alice", "GetColumnMask", filterResources=resources))  # fmt: skip
    assert alices == [
        {"index": 1, "viewExpression": {"expression": HASHED}},
        {"index": 2, "viewExpression": {"expression": "CAST(NULL AS integer)"}},
    ]
    bobs = ask(pdp, "batchColumnMasks", request("bob", "GetColumnMask", filterResources=resources))
    assert [m["index"] for m in bobs] == [2]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_rego_tests_pass(engine_name: str) -> None:
    results = run_rego_tests([HEIMDALL_DIR, TRINO_DIR], engine=create_engine(engine_name))
    assert len([r for r in results if r.package.startswith("trino")]) >= 20
    assert not [f"{r.rule}: {r.error}" for r in results if not r.passed]


def test_trino_policies_use_no_glob_match() -> None:
    """glob.match is where the engines (and OPA versions) disagree; patterns come compiled."""
    assert not [p.name for p in TRINO_DIR.glob("*.rego") if "glob.match" in p.read_text()]


def test_doctests_and_quoting() -> None:
    assert doctest.testmod(trino_data).failed == 0
    assert quote_identifier('a"b') == '"a""b"'
    assert quote_literal("it's") == "'it''s'"


# fmt: off
FILTERS = [
    ("equals", "EU", "\"c\" = 'EU'"),
    ("not_equals", 3, '"c" <> 3'),
    ("less_than", 2.5, '"c" < 2.5'),
    ("less_than_equals", 1e-7, '"c" <= 0.0000001'),
    ("greater_than", True, '"c" > TRUE'),
    ("greater_than_equals", -4, '"c" >= -4'),
    ("in", ["a", 1], "\"c\" IN ('a', 1)"),
    ("not_in", ["x"], "\"c\" NOT IN ('x')"),
    ("in", [], "FALSE"),
    ("not_in", [], "TRUE"),
]
# fmt: on


@pytest.mark.parametrize(("operator", "value", "expected"), FILTERS)
def test_filter_expressions(operator: str, value: Any, expected: str) -> None:
    assert filter_expression([RowFilter(column="c", operator=operator, value=value)]) == expected


# fmt: off
REACH = [
    ("dataos://lakehouse:retail/**", ("exact", "lakehouse", "exact", "retail", True)),
    ("dataos://lakehouse:retail/*", ("exact", "lakehouse", "exact", "retail", True)),
    ("dataos://lakehouse:retail/orders", ("exact", "lakehouse", "exact", "retail", False)),
    ("dataos://lakehouse:**", ("exact", "lakehouse", "prefix", "**", True)),
    ("dataos://lakehouse:sales_**", ("exact", "lakehouse", "prefix", "sales_**", True)),
    ("dataos://lake**/orders", ("prefix", "lake", "prefix", "**", False)),
    ("dataos://*:public/*", ("regex", "(?s)^[^:/]*$", "exact", "public", True)),
    ("**", ("prefix", "", "prefix", "**", True)),
    ("dataos://**", ("prefix", "", "prefix", "**", True)),
    ("dataos://lakehouse", None),
    ("dataos://lakehouse:retail", None),
    ("dataos://depot/shoppg", None),
    ("/metis/**", None),
    ("*", None),
]
# fmt: on


@pytest.mark.parametrize(("glob", "expected"), REACH)
def test_path_reach(glob: str, expected: tuple[str, str, str, str, bool] | None) -> None:
    reach = path_reach(glob)
    kinds = reach and (reach["catalog"]["kind"], reach["catalog"]["value"], reach["schema"]["kind"], reach["schema"]["glob"], reach["covers"])  # fmt: skip
    assert kinds == expected


def test_compiler_helpers() -> None:
    expanded = ["dataos://a:x/\\{y", "dataos://bc:x/\\{y", "dataos://bd:x/\\{y"]
    assert expand_alternatives("dataos://{a,b{c,d}}:x/\\{y") == expanded
    with pytest.raises(PolicyDataError, match="expands"):
        expand_alternatives("{a,b}" * 11)
    assert compile_identities({"a": ["t2", "t1", "t1"]}) == {"a": ["t1", "t2"]}
    with pytest.raises(PolicyDataError):
        compile_identities({"a": "roles:id:user"})
    tags = compile_column_tags({"D.c.t": {"Email": ["PII.Email"]}})
    assert tags == {"d.c.t": {"email": ["PII.Email"]}}
    with pytest.raises(PolicyDataError, match="dataset id"):
        compile_column_tags({"d.c": {"x": []}})
    twice = parse_policies(MANIFESTS.split("---\n")[7], "x.yaml") * 2
    with pytest.raises(PolicyDataError, match="two data policies"):
        compile_data_policies(twice)


def test_archived_and_default_priority() -> None:
    section = "{data: {type: mask, selector: {user: {tags: ['users:**']}, column: {names: [Email]}}, mask: {operator: redact}%s}}"
    text = _policy("late", section % "") + "---\n" + _policy("gone", section % ", isArchived: true")
    compiled = compile_data_policies(parse_policies(text, "x.yaml"))
    assert [m["name"] for m in compiled["masks"]] == ["late"]
    mask = compiled["masks"][0]
    assert (mask["priority"], mask["columns"]["names"], mask["users"]["match"]) == (trino_data.DEFAULT_PRIORITY, ["email"], "any")  # fmt: skip
