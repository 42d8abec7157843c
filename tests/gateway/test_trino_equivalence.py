"""The Gateway's masks and filters against Trino's, policy by policy, user by user.

For a matrix of data policies, users, datasets and columns of every type family, the Trino
side is asked the way Trino's OPA plugin asks (``batchColumnMasks``, ``rowFilters``, the real
``policies/trino`` on regorus, data from ``trino_document``) and the Gateway side resolves
``DataPolicies.governance`` and builds ``mask_expression`` / ``filter_condition``.

Trino itself cannot run here, so Trino's SQL is evaluated on DuckDB after sqlglot
transpilation, and both results are compared on the same DuckDB table. Where DuckDB's
function of the same name behaves differently from Trino's, the transpiled SQL calls an
emulation of Trino's function instead: ``to_utf8``, ``to_hex`` (upper case), the hash
functions (binary digests), ``random(n)`` (an integer below n) as DuckDB macros, and
``regexp_replace`` (Java replacement syntax ``$1``, ``${name}``, ``\\x``) computed in Python
following Trino's ``JoniRegexpFunctions`` and looked up per value. Trino's functions keep
the column's type where DuckDB's ``date_trunc`` does not, so Trino's expression is cast to
the column's type; the Gateway's own types are checked separately. ``rand_pattern`` values
are compared by shape (digits as ``#``) and NULLs only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from dataos_defs.gateway.masks import filter_condition, mask_expression
from dataos_defs.gateway.model import Column, Table, TableName
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.heimdall.engine import create_engine
from dataos_defs.heimdall.pdp import PolicyDecisionPoint, policy_modules
from dataos_defs.heimdall.policy_data import parse_policies
from dataos_defs.heimdall.trino_data import trino_document
from dataos_defs.manifest.errors import ManifestError

REPO = Path(__file__).resolve().parents[2]
HEIMDALL_DIR = REPO / "policies" / "heimdall"
TRINO_DIR = REPO / "policies" / "trino"


def request(user: str, operation: str, **action: Any) -> dict[str, Any]:
    """The ``input`` Trino's OPA plugin posts (identity without groups: tags come from
    the identities in the data document)."""
    identity = {"user": user, "groups": []}
    return {"context": {"identity": identity}, "action": {"operation": operation, **action}}


# DuckDB type → the type Trino reports for the same column (the plugin's columnType)
TYPES = {
    "INTEGER": "integer", "TINYINT": "tinyint", "BIGINT": "bigint",
    "DECIMAL(10,2)": "decimal(10,2)", "DOUBLE": "double", "FLOAT": "real",
    "VARCHAR": "varchar", "DATE": "date", "TIMESTAMP": "timestamp(6)",
    "TIMESTAMP WITH TIME ZONE": "timestamp(6) with time zone", "BOOLEAN": "boolean",
}  # fmt: skip
COLUMNS = {
    "i": "INTEGER", "t": "TINYINT", "b": "BIGINT", "dec": "DECIMAL(10,2)", "dbl": "DOUBLE",
    "r": "FLOAT", "s": "VARCHAR", "d": "DATE", "ts": "TIMESTAMP",
    "tz": "TIMESTAMP WITH TIME ZONE", "flag": "BOOLEAN", "region": "VARCHAR",
    "status": "VARCHAR", "amount": "DOUBLE",
}  # fmt: skip
# fmt: off
ROWS = [
    (1, 27, 27, 27, "27.50", 27.5, 27.5, "a1b2", "2024-05-17", "2024-05-17 10:11:12.345", "2024-05-17 10:11:12.345+00", True, "EU", "open", 999.5),
    (2, 10, 10, 10, "10.00", 10.0, 10.0, "O'Brien \\ $1", "2024-01-01", "2024-01-01 00:00:00", "2024-01-01 00:00:00+00", False, "US", "it's", 1000.0),
    (3, None, None, None, None, None, None, None, None, None, None, None, None, None, None),
    (4, 65, 100, 9000000000, "64.99", 65.0, 65.0, "ü€😀 x9y8", "2023-12-31", "2023-12-31 23:59:59", "2023-12-31 23:59:59+00", True, "EU", "closed", 5.0),
    (5, 18, 18, 18, "18.00", 17.999, 18.0, "", "2024-02-29", "2024-02-29 12:30:00", "2024-02-29 12:30:00+00", None, None, "open", None),
    (6, -5, -5, -5, "-5.00", -0.5, -0.5, "ab12cd34", "2024-12-30", "2024-12-29 23:00:00", "2024-12-29 23:00:00+00", False, "eu", "open", 1e-7),
]
MASK_VARIANTS = {
    "hash-md5": "{operator: hash, hash: {algo: md5}}",
    "hash-sha1": "{operator: hash, hash: {algo: sha1}}",
    "hash-sha256": "{operator: hash, hash: {algo: sha256}}",
    "buckets": "{operator: bucket_number, bucket_number: {buckets: [18, 25, 35, 50, 65]}}",
    "buckets-fractional": "{operator: bucket_number, bucket_number: {buckets: [-1.5, 0.5, 27.5]}}",
    **{f"date-{p}": f"{{operator: bucket_date, bucket_date: {{precision: {p}}}}}" for p in ("hour", "day", "week", "month", "quarter", "year")},
    "regex-digits": "{operator: regex_replace, regex_replace: {pattern: '[0-9]', replacement: '#'}}",
    "regex-groups": "{operator: regex_replace, regex_replace: {pattern: '([a-z])([0-9])', replacement: '$2$1'}}",
    "regex-escapes": "{operator: regex_replace, regex_replace: {pattern: '[0-9]+', replacement: '\\$\\\\<$0>'}}",
    "regex-named": "{operator: regex_replace, regex_replace: {pattern: '(?P<w>[a-z]+)', replacement: '[${w}]'}}",
    "regex-adaptive": "{operator: regex_replace, regex_replace: {pattern: '([a-z])', replacement: '$12'}}",
    "regex-quotes": "{operator: regex_replace, regex_replace: {pattern: \"'\", replacement: \"'') --\"}}",
    "rand": "{operator: rand_pattern, rand_pattern: {pattern: '###-##'}}",
    "rand-constant": "{operator: rand_pattern, rand_pattern: {pattern: x}}",
    "redact": "{operator: redact}",
    "redact-custom": "{operator: redact, redact: {replacement: \"it's \\\\ gone\"}}",
    "pass": "{operator: pass_through}",
}
FILTER_VARIANTS = {
    "eq": "[{column: region, operator: equals, value: EU}]",
    "neq": "[{column: region, operator: not_equals, value: EU}]",
    "lt": "[{column: amount, operator: less_than, value: 1000}]",
    "lte": "[{column: amount, operator: less_than_equals, value: 1000}]",
    "gt": "[{column: i, operator: greater_than, value: 18}]",
    "gte": "[{column: dec, operator: greater_than_equals, value: 18.5}]",
    "in": "[{column: status, operator: in, value: [open, \"it's\"]}]",
    "not-in": "[{column: status, operator: not_in, value: [open]}]",
    "in-empty": "[{column: status, operator: in, value: []}]",
    "not-in-empty": "[{column: status, operator: not_in, value: []}]",
    "bool": "[{column: flag, operator: equals, value: true}]",
    "tiny": "[{column: amount, operator: less_than_equals, value: 1.0e-7}]",
    "both": "[{column: region, operator: equals, value: EU}, {column: i, operator: less_than, value: 50}]",
}
EVERYONE = "{match: any, tags: ['users:**']}"
USER = "{match: any, tags: [roles:id:user]}"
NAMES = ", ".join(c for c in COLUMNS)


def _policy(name: str, data: str) -> str:
    return f"{{name: {name}, version: v1, type: policy, policy: {{data: {data}}}}}\n"


def _mask(name: str, scope: str, users: str, columns: str, mask: str, priority: str = "") -> str:
    return _policy(name, f"{{type: mask, {priority}{scope}, selector: {{user: {users}, column: {columns}}}, mask: {mask}}}")


MANIFESTS = "---\n".join([
    *(_mask(f"m-{v}", f"dataset_id: lakehouse.masks.{v}", USER, f"{{names: [{NAMES}]}}", mask, "priority: 50, ") for v, mask in MASK_VARIANTS.items()),
    _mask("m-clear", "depot: lakehouse, collection: masks", "{tags: [roles:id:pii-reader]}", "{names: [s]}", "{operator: pass_through}", "priority: 10, "),
    _mask("c-hash", "dataset_id: lakehouse.retail.customers", USER, "{names: [s]}", MASK_VARIANTS["hash-sha256"], "priority: 50, "),
    _mask("c-clear", "dataset_id: lakehouse.retail.customers", "{tags: [roles:id:pii-reader]}", "{names: [s]}", "{operator: pass_through}", "priority: 10, "),
    _mask("c-pii", "depot: '**'", EVERYONE, "{tags: ['PII.*']}", "{operator: redact}", "priority: 99, "),
    _mask("c-ages", "depot: lakehouse, collection: 'ret*'", EVERYONE, "{names: [i, dec]}", MASK_VARIANTS["buckets"], "priority: 99, "),
    _mask("c-ages-b", "dataset: customers", EVERYONE, "{names: [i]}", "{operator: redact}", "priority: 99, "),
    _mask("c-dates", "dataset: '{customers,orders}'", "{match: all, tags: [roles:id:user, 'users:id:a*']}", "{tags: ['PII.Date*']}", MASK_VARIANTS["date-year"]),
    _mask("c-region", "dataset_id: 'lakehouse.retail.*'", EVERYONE, "{names: [REGION]}", "{operator: regex_replace, regex_replace: {pattern: '[A-Z]', replacement: '*'}}"),
    *(_policy(f"f-{v}", f"{{type: filter, dataset_id: lakehouse.filters.{v}, selector: {{user: {USER}}}, filters: {filters}}}") for v, filters in FILTER_VARIANTS.items()),
    _policy("f-eu", f"{{type: filter, dataset_id: lakehouse.retail.customers, selector: {{user: {USER}}}, filters: {FILTER_VARIANTS['eq']}}}"),
    _policy("f-small", "{type: filter, collection: retail, selector: {user: {match: all, tags: [roles:id:user, roles:id:intern]}}, filters: [{column: amount, operator: less_than, value: 1000}, {column: status, operator: in, value: [open, \"it's\"]}]}"),
])
# fmt: on
COLUMN_TAGS = {
    "s": ("PII.Email",),
    "d": ("PII.DateOfBirth",),
    "ts": ("PII.DateOfBirth",),
    "tz": ("PIIX.Time",),
    "status": ("Restricted.Status",),
}
IDENTITIES = {
    "alice": ["roles:id:user"],
    "bob": ["roles:id:user", "roles:id:pii-reader"],
    "ivan": ["roles:id:user", "roles:id:intern"],
    "carol": ["roles:id:data-dev"],
    "dave": [],
}
DATASETS = [
    *(f"lakehouse.masks.{v}" for v in MASK_VARIANTS),
    *(f"lakehouse.filters.{v}" for v in FILTER_VARIANTS),
    "lakehouse.retail.customers",
    "lakehouse.retail.orders",
    "pg.public.customers",
]


@pytest.fixture(scope="module")
def pdp() -> PolicyDecisionPoint:
    modules = {**policy_modules(HEIMDALL_DIR), **policy_modules(TRINO_DIR)}
    point = PolicyDecisionPoint(create_engine("regorus"), modules=modules, timeout=10.0)
    tags = {dataset: {c: list(t) for c, t in COLUMN_TAGS.items()} for dataset in DATASETS}
    document = trino_document(
        parse_policies(MANIFESTS, "equivalence.yaml"),
        identities=IDENTITIES,
        column_tags=tags,
        system=False,
    )
    point.set_data(document)
    return point


@pytest.fixture(scope="module")
def gateway() -> DataPolicies:
    return DataPolicies(parse_policies(MANIFESTS, "equivalence.yaml"))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    connection.execute(f"CREATE TABLE data (id INTEGER, {columns})")
    connection.executemany(f"INSERT INTO data VALUES ({', '.join('?' * (len(COLUMNS) + 1))})", ROWS)
    for statement in TRINO_FUNCTIONS:
        connection.execute(statement)
    connection.execute(
        "CREATE TABLE trino_regexp (pattern VARCHAR, replacement VARCHAR, input VARCHAR, output VARCHAR)"
    )
    yield connection
    connection.close()


TRINO_FUNCTIONS = [
    "CREATE MACRO trino_to_utf8(s) AS encode(s)",
    "CREATE MACRO trino_to_hex(b) AS upper(hex(b))",
    "CREATE MACRO trino_md5(b) AS unhex(md5(b))",
    "CREATE MACRO trino_sha1(b) AS unhex(sha1(b))",
    "CREATE MACRO trino_sha256(b) AS unhex(sha256(b))",
    "CREATE MACRO trino_random(n) AS CAST(floor(random() * n) AS BIGINT)",
]
EMULATED: dict[type[exp.Expr], str] = {
    exp.Encode: "trino_to_utf8",
    exp.Hex: "trino_to_hex",
    exp.MD5Digest: "trino_md5",
    exp.SHA: "trino_sha1",
    exp.Rand: "trino_random",
}


def trino_on_duckdb(expression: str, con: duckdb.DuckDBPyConnection) -> str:
    """Trino SQL transpiled to DuckDB, Trino's functions emulated where DuckDB's differ."""
    tree = sqlglot.parse_one(expression, read="trino")
    for node in reversed(list(tree.walk())):  # children before their parents
        replacement = _emulated(node, con)
        if replacement is node:
            continue
        if node is tree:
            tree = replacement
        else:
            node.replace(replacement)
    return tree.sql("duckdb")


def _emulated(node: exp.Expr, con: duckdb.DuckDBPyConnection) -> exp.Expr:
    if isinstance(node, exp.LowerHex):
        return exp.Lower(this=exp.Anonymous(this="trino_to_hex", expressions=[node.this]))
    if isinstance(node, exp.SHA2Digest):
        length = node.args["length"].name
        assert length == "256", f"sha{length} has no DuckDB emulation"
        return exp.Anonymous(this="trino_sha256", expressions=[node.this])
    if type(node) in EMULATED:
        return exp.Anonymous(this=EMULATED[type(node)], expressions=[node.this])
    if isinstance(node, exp.RegexpReplace):
        pattern, replacement = node.expression.name, node.args["replacement"].name
        _tabulate_regexp(con, pattern, replacement)
        lookup = (
            exp.select("output")
            .from_("trino_regexp")
            .where(exp.column("pattern").eq(exp.Literal.string(pattern)))
            .where(exp.column("replacement").eq(exp.Literal.string(replacement)))
            .where(exp.column("input").eq(node.this))
        )
        return lookup.subquery()
    return node


def _tabulate_regexp(con: duckdb.DuckDBPyConnection, pattern: str, replacement: str) -> None:
    texts = {value for row in ROWS for value in row if isinstance(value, str)}
    rows = [(pattern, replacement, t, trino_regexp_replace(t, pattern, replacement)) for t in texts]
    con.execute("DELETE FROM trino_regexp WHERE pattern = ? AND replacement = ?", [pattern, replacement])  # fmt: skip
    con.executemany("INSERT INTO trino_regexp VALUES (?, ?, ?, ?)", rows)


def trino_regexp_replace(source: str, pattern: str, replacement: str) -> str:
    """Trino's regexp_replace: every match, an empty match moves on by one character."""
    regex = re.compile(pattern)
    out, last_end, start = [], 0, 0
    while (found := regex.search(source, start)) is not None:
        out += [source[last_end : found.start()], _trino_expand(replacement, found)]
        last_end = found.end()
        start = found.end() + (1 if found.end() == found.start() else 0)
        if start > len(source):
            break
    return "".join(out) + source[last_end:]


def _trino_expand(replacement: str, found: re.Match[str]) -> str:
    groups, out, index = found.re.groups, [], 0
    while index < len(replacement):
        char = replacement[index]
        index += 1
        if char == "\\":
            out.append(replacement[index])  # IndexError: Trino fails the same replacement
            index += 1
        elif char != "$":
            out.append(char)
        elif replacement[index] == "{":
            end = replacement.index("}", index)
            out.append(found.group(replacement[index + 1 : end]) or "")
            index = end + 1
        else:
            group = int(replacement[index])  # ValueError: Trino fails too
            if group > groups:
                raise ValueError(f"unknown group {group}")
            index += 1
            while index < len(replacement) and replacement[index].isdigit():
                if group * 10 + int(replacement[index]) > groups:
                    break
                group, index = group * 10 + int(replacement[index]), index + 1
            out.append(found.group(group) or "")
    return "".join(out)


def table_of(dataset: str) -> Table:
    depot, collection, name = dataset.split(".")
    columns = tuple(Column(c, t, COLUMN_TAGS.get(c, ())) for c, t in COLUMNS.items())
    return Table(TableName(depot, collection, name), columns, "data")


def trino_side(pdp: PolicyDecisionPoint, user: str, dataset: str, con: duckdb.DuckDBPyConnection) -> tuple[str, str, set[str]]:  # fmt: skip
    """(select list, WHERE condition, names of the random columns) as Trino's policies say."""
    catalog, schema, name = dataset.split(".")
    where = {"catalogName": catalog, "schemaName": schema, "tableName": name}
    resources = [{"column": {**where, "columnName": c, "columnType": TYPES[t]}} for c, t in COLUMNS.items()]  # fmt: skip
    asked = request(user, "GetColumnMask", filterResources=resources)
    masks = pdp.query("data.trino.batchColumnMasks", asked)
    by_index = {m["index"]: m["viewExpression"]["expression"] for m in masks or []}
    select, random = [], set()
    for index, (column, kind) in enumerate(COLUMNS.items()):
        expression = by_index.get(index)
        if expression is None:
            select.append(f'"{column}"')
            continue
        random |= {column} if "random(" in expression else set()
        select.append(f"CAST(({trino_on_duckdb(expression, con)}) AS {kind})")
    filters = pdp.query("data.trino.rowFilters", request(user, "GetRowFilters", resource={"table": where}))  # fmt: skip
    conditions = [trino_on_duckdb(f["expression"], con) for f in filters or []]
    return ", ".join(select), " AND ".join(f"({c})" for c in conditions) or "TRUE", random


def gateway_side(gateway: DataPolicies, user: str, dataset: str) -> tuple[str, str]:
    table = table_of(dataset)
    governance = gateway.governance(table, [*IDENTITIES[user], f"users:id:{user}"])
    select = []
    for column in table.columns:
        quoted = exp.column(column.name, quoted=True)
        applied = governance.masks.get(column.name)
        select.append(quoted if applied is None else mask_expression(quoted, column.type, applied.mask))  # fmt: skip
    rows = [row for applied in governance.filters for row in applied.filters]
    condition = filter_condition(rows, lambda name: exp.column(name, quoted=True))
    return ", ".join(e.sql("duckdb") for e in select), condition.sql("duckdb")


def results(con: duckdb.DuckDBPyConnection, select: str, where: str) -> tuple[list[tuple[Any, ...]], list[str]]:  # fmt: skip
    sql = f"SELECT id, {select} FROM data WHERE {where} ORDER BY id"
    return con.execute(sql).fetchall(), [r[1] for r in con.execute(f"DESCRIBE {sql}").fetchall()]


def shape(value: Any) -> Any:
    return re.sub(r"[0-9]", "#", value) if isinstance(value, str) else value


@pytest.mark.parametrize("dataset", DATASETS)
def test_gateway_and_trino_agree(
    pdp: PolicyDecisionPoint, gateway: DataPolicies, con: duckdb.DuckDBPyConnection, dataset: str
) -> None:
    for user in IDENTITIES:
        trino_select, trino_where, random = trino_side(pdp, user, dataset, con)
        trino_rows, _ = results(con, trino_select, trino_where)
        own_rows, own_types = results(con, *gateway_side(gateway, user, dataset))
        assert own_types == ["INTEGER", *COLUMNS.values()], f"{user}: masks keep the types"
        assert [r[0] for r in own_rows] == [r[0] for r in trino_rows], f"{user}: same rows kept"
        for index, column in enumerate(COLUMNS, start=1):
            ours = [row[index] for row in own_rows]
            theirs = [row[index] for row in trino_rows]
            if column in random:
                ours, theirs = [shape(v) for v in ours], [shape(v) for v in theirs]
            assert ours == theirs, f"{user} on {dataset}.{column}"


def test_the_matrix_exercises_every_operator(gateway: DataPolicies) -> None:
    alice = ["roles:id:user", "users:id:alice"]
    operators = {
        applied.mask.operator
        for dataset in DATASETS
        for applied in gateway.governance(table_of(dataset), alice).masks.values()
    }
    assert operators == {"hash", "bucket_number", "bucket_date", "regex_replace", "rand_pattern", "redact"}  # fmt: skip
    exempted = gateway.governance(table_of("lakehouse.masks.hash-md5"), ["roles:id:pii-reader"])
    assert exempted.exempted == ("m-clear",)
    filtered = gateway.governance(table_of("lakehouse.retail.customers"), ["roles:id:user", "roles:id:intern"])  # fmt: skip
    assert [f.policy for f in filtered.filters] == ["f-eu", "f-small"]


@pytest.mark.parametrize("algo", ["sha512", "xxhash64"])
def test_hashes_duckdb_lacks_are_refused_when_the_policy_is_read(algo: str) -> None:
    """Trino hashes with them, DuckDB cannot: a policy both engines could not apply is
    refused before it governs anything (what apply accepts works on every engine)."""
    text = _mask("h", "depot: '**'", EVERYONE, "{names: [s]}", f"{{operator: hash, hash: {{algo: {algo}}}}}")  # fmt: skip
    with pytest.raises(ManifestError, match=f"hash algorithm '{algo}' is not available"):
        parse_policies(text, "h.yaml")


def test_the_trino_regexp_emulation_follows_trino() -> None:
    """Cases from Trino's own regexp tests (AbstractTestRegexpFunctions)."""
    assert trino_regexp_replace("abc", "(b)", "-$1-") == "a-b-c"
    assert trino_regexp_replace("abc", "x*", "-") == "-a-b-c-"
    assert trino_regexp_replace("abc", "(?P<n>b)", "${n}${n}") == "abbc"
    assert trino_regexp_replace("abc", "(b)", "\\$1") == "a$1c"
    with pytest.raises(ValueError):
        trino_regexp_replace("abc", "(b)", "$2")
