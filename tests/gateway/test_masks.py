"""Masks and row filters run on a real DuckDB: values, NULLs and result types, per operator.

Expected values are written out by hand (or computed by hashlib / plain Python), not by
the code under test; every result type is read back with DESCRIBE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlglot import exp

from dataos_defs.gateway.masks import (
    duckdb_type,
    filter_condition,
    mask_expression,
    re2_replacement,
    type_family,
)
from dataos_defs.gateway.model import Refused
from dataos_defs.manifest.policy_parts import (
    BucketDateMask,
    BucketNumberMask,
    HashMask,
    Mask,
    RandPatternMask,
    RedactMask,
    RegexReplaceMask,
    RowFilter,
)

COLUMNS = {
    "id": "INTEGER", "age": "INTEGER", "small": "TINYINT", "big": "BIGINT",
    "score": "DECIMAL(10,2)", "ratio": "DOUBLE", "name": "VARCHAR", "born": "DATE",
    "seen": "TIMESTAMP", "seen_tz": "TIMESTAMP WITH TIME ZONE", "flag": "BOOLEAN",
}  # fmt: skip
# fmt: off
ROWS = [
    (1, 27, 27, 27, "27.50", 27.5, "a1b2", "2024-05-17", "2024-05-17 10:11:12.345", "2024-05-17 10:11:12.345+00", True),
    (2, 10, 10, 10, "10.00", 10.0, "O'Brien \\ $1", "2024-01-01", "2024-01-01 00:00:00", "2024-01-01 00:00:00+00", False),
    (3, None, None, None, None, None, None, None, None, None, None),
    (4, 65, 100, 9000000000, "64.99", 65.0, "ü€😀 x9y8", "2023-12-31", "2023-12-31 23:59:59", "2023-12-31 23:59:59+00", True),
    (5, 18, 18, 18, "18.00", 17.999, "", "2024-02-29", "2024-02-29 12:00:00", "2024-02-29 12:00:00+00", None),
]
# fmt: on


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    connection.execute(f"CREATE TABLE people ({columns})")
    placeholders = ", ".join("?" for _ in COLUMNS)
    connection.executemany(f"INSERT INTO people VALUES ({placeholders})", ROWS)
    yield connection
    connection.close()


def masked(con: duckdb.DuckDBPyConnection, column: str, mask: Mask) -> tuple[list[Any], str]:
    """The masked values (ordered by id) and their DuckDB type."""
    expression = mask_expression(exp.column(column, quoted=True), COLUMNS[column], mask)
    sql = f"SELECT {expression.sql('duckdb')} AS v FROM people ORDER BY id"
    values = [row[0] for row in con.execute(sql).fetchall()]
    kind = con.execute(f"DESCRIBE {sql}").fetchall()[0][1]
    return values, kind


def original(con: duckdb.DuckDBPyConnection, column: str) -> list[Any]:
    return [row[0] for row in con.execute(f"SELECT {column} FROM people ORDER BY id").fetchall()]


AGE_BUCKETS = Mask(operator="bucket_number", bucket_number=BucketNumberMask(buckets=[18, 25, 35, 50, 65]))  # fmt: skip
DIGITS = RegexReplaceMask(pattern="[0-9]", replacement="#")
MASKS = {
    "hash": Mask(operator="hash", hash=HashMask(algo="sha256")),
    "bucket_number": AGE_BUCKETS,
    "bucket_date": Mask(operator="bucket_date", bucket_date=BucketDateMask(precision="month")),
    "regex_replace": Mask(operator="regex_replace", regex_replace=DIGITS),
    "rand_pattern": Mask(operator="rand_pattern", rand_pattern=RandPatternMask(pattern="##-#")),
    "redact": Mask(operator="redact"),
    "pass_through": Mask(operator="pass_through"),
}
APPLIES_TO = {
    "hash": {"text"}, "bucket_number": {"number"}, "bucket_date": {"date", "timestamp"},
    "regex_replace": {"text"}, "rand_pattern": {"text"}, "redact": {"text"},
    "pass_through": {"text", "number", "date", "timestamp", "other"},
}  # fmt: skip


@pytest.mark.parametrize("operator", sorted(MASKS))
@pytest.mark.parametrize("column", sorted(set(COLUMNS) - {"id"}))
def test_every_mask_keeps_the_column_type(
    con: duckdb.DuckDBPyConnection, operator: str, column: str
) -> None:
    values, kind = masked(con, column, MASKS[operator])
    assert kind == COLUMNS[column]
    family = type_family(duckdb_type(COLUMNS[column]))
    if family not in APPLIES_TO[operator]:
        assert values == [None] * len(ROWS), "an operator hides a type it does not apply to"


def test_type_families() -> None:
    families = {name: type_family(duckdb_type(kind)) for name, kind in COLUMNS.items()}
    assert families == {
        "id": "number", "age": "number", "small": "number", "big": "number",
        "score": "number", "ratio": "number", "name": "text", "born": "date",
        "seen": "timestamp", "seen_tz": "timestamp", "flag": "other",
    }  # fmt: skip
    assert type_family(duckdb_type("TIMESTAMP_NS")) == "timestamp"
    assert type_family(duckdb_type("VARCHAR[]")) == "other"
    with pytest.raises(Refused, match="unknown"):
        duckdb_type("no such; type")


def test_bucket_number_gives_the_lower_bound(con: duckdb.DuckDBPyConnection) -> None:
    assert masked(con, "age", AGE_BUCKETS) == ([25, None, None, 65, 18], "INTEGER")
    assert masked(con, "small", AGE_BUCKETS) == ([25, None, None, 65, 18], "TINYINT")
    assert masked(con, "big", AGE_BUCKETS)[0] == [25, None, None, 65, 18]
    scores = [Decimal("25.00"), None, None, Decimal("50.00"), Decimal("18.00")]
    assert masked(con, "score", AGE_BUCKETS) == (scores, "DECIMAL(10,2)")
    assert masked(con, "ratio", AGE_BUCKETS) == ([25.0, None, None, 65.0, None], "DOUBLE")
    halves = Mask(operator="bucket_number", bucket_number=BucketNumberMask(buckets=[0.5, 27.5]))
    low, high = Decimal("0.50"), Decimal("27.50")
    assert masked(con, "score", halves)[0] == [high, low, None, high, low]


PRECISIONS = {
    "hour": ("2024-05-17", "2024-05-17 10:00:00"),
    "day": ("2024-05-17", "2024-05-17 00:00:00"),
    "week": ("2024-05-13", "2024-05-13 00:00:00"),
    "month": ("2024-05-01", "2024-05-01 00:00:00"),
    "quarter": ("2024-04-01", "2024-04-01 00:00:00"),
    "year": ("2024-01-01", "2024-01-01 00:00:00"),
}


@pytest.mark.parametrize("precision", sorted(PRECISIONS))
def test_bucket_date_per_precision(con: duckdb.DuckDBPyConnection, precision: str) -> None:
    mask = Mask(operator="bucket_date", bucket_date=BucketDateMask(precision=precision))
    day, moment = PRECISIONS[precision]
    born, born_type = masked(con, "born", mask)
    seen, seen_type = masked(con, "seen", mask)
    seen_tz, seen_tz_type = masked(con, "seen_tz", mask)
    assert (born[0], born[2], born_type) == (dt.date.fromisoformat(day), None, "DATE")
    assert (seen[0], seen[2], seen_type) == (dt.datetime.fromisoformat(moment), None, "TIMESTAMP")
    assert seen_tz[0] == dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)
    assert (seen_tz[2], seen_tz_type) == (None, "TIMESTAMP WITH TIME ZONE")


def regex(pattern: str, replacement: str) -> Mask:
    replace = RegexReplaceMask(pattern=pattern, replacement=replacement)
    return Mask(operator="regex_replace", regex_replace=replace)


# pattern, Trino replacement, value of row 1 ("a1b2"), value of row 4 ("ü€😀 x9y8")
REGEX_CASES = [
    ("[0-9]", "#", "a#b#", "ü€😀 x#y#"),
    ("([a-z])([0-9])", "$2$1", "1a2b", "ü€😀 9x8y"),
    ("(?P<letter>[a-z])([0-9])", "<${letter}>", "<a><b>", "ü€😀 <x><y>"),
    ("([a-z])", "$12", "a21b22", "ü€😀 x29y28"),
    ("[0-9]", "\\$\\\\", "a$\\b$\\", "ü€😀 x$\\y$\\"),
    ("[0-9]", "\\t\\1", "at1bt1", "ü€😀 xt1yt1"),
    ("[0-9]", "$0$0", "a11b22", "ü€😀 x99y88"),
    ("€", "'); DROP TABLE people; --", "a1b2", "ü'); DROP TABLE people; --😀 x9y8"),
]


@pytest.mark.parametrize(("pattern", "replacement", "first", "fourth"), REGEX_CASES)
def test_regex_replace_replaces_every_match_with_trino_syntax(
    con: duckdb.DuckDBPyConnection, pattern: str, replacement: str, first: str, fourth: str
) -> None:
    values, kind = masked(con, "name", regex(pattern, replacement))
    assert (values[0], values[2], values[3], kind) == (first, None, fourth, "VARCHAR")


@pytest.mark.parametrize(
    ("pattern", "replacement", "problem"),
    [
        ("(a)", "x$", "lone '\\$'"),
        ("(a)", "$x", "group number"),
        ("(a)", "$2", "no group 2"),
        ("(a)", "${nope}", "no group named"),
        ("(a)", "x\\", "lone '\\\\'"),
        ("(a)" * 10, "$10", "cannot insert group 10"),
    ],
)
def test_replacements_trino_rejects_are_refused(pattern: str, replacement: str, problem: str) -> None:  # fmt: skip
    with pytest.raises(Refused, match=problem):
        re2_replacement(pattern, replacement)


def test_rand_pattern_shape_and_nulls(con: duckdb.DuckDBPyConnection) -> None:
    mask = Mask(operator="rand_pattern", rand_pattern=RandPatternMask(pattern="###-##-####"))
    values, kind = masked(con, "name", mask)
    assert kind == "VARCHAR" and values[2] is None
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", v) for v in values if v is not None)
    many = mask_expression(exp.column("v"), "VARCHAR", mask).sql("duckdb")
    drawn = con.execute(f"SELECT DISTINCT {many} FROM (SELECT 'x' AS v FROM range(50))").fetchall()
    assert len(drawn) > 40, "a fresh number per row"
    quoted = Mask(operator="rand_pattern", rand_pattern=RandPatternMask(pattern="it's #"))
    assert re.fullmatch(r"it's \d", masked(con, "name", quoted)[0][0])


def test_redact_replaces_text_even_null_and_hides_other_types(con: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    assert masked(con, "name", Mask(operator="redact")) == (["REDACTED"] * 5, "VARCHAR")
    quote = Mask(operator="redact", redact=RedactMask(replacement="x' OR '1'='1 \\"))
    assert masked(con, "name", quote)[0] == ["x' OR '1'='1 \\"] * 5
    assert masked(con, "age", Mask(operator="redact")) == ([None] * 5, "INTEGER")
    assert masked(con, "born", Mask(operator="redact")) == ([None] * 5, "DATE")


@pytest.mark.parametrize("algo", ["md5", "sha1", "sha256"])
def test_hash_is_the_lower_case_hex_digest_of_the_utf8_text(
    con: duckdb.DuckDBPyConnection, algo: str
) -> None:
    mask = Mask(operator="hash", hash=HashMask(algo=algo))
    names = original(con, "name")
    expected = [None if n is None else hashlib.new(algo, n.encode()).hexdigest() for n in names]
    assert masked(con, "name", mask) == (expected, "VARCHAR")
    assert masked(con, "age", mask) == ([None] * 5, "INTEGER")


@pytest.mark.parametrize("algo", ["sha512", "xxhash64"])
def test_hash_algorithms_duckdb_lacks_are_refused(algo: str) -> None:
    """By the policy model (so at lint and apply), and by the Gateway should an unvalidated
    mask reach it."""
    with pytest.raises(ValidationError, match=f"hash algorithm '{algo}' is not available"):
        HashMask(algo=algo)
    unchecked = HashMask.model_construct(algo=algo)
    mask = Mask.model_construct(operator="hash", hash=unchecked)
    with pytest.raises(Refused, match="not available on DuckDB"):
        mask_expression(exp.column("name"), "VARCHAR", mask)
    assert mask_expression(exp.column("n"), "INTEGER", mask).sql("duckdb") == "CAST(NULL AS INT)"


def test_pass_through_leaves_the_column(con: duckdb.DuckDBPyConnection) -> None:
    for column in ("name", "score", "seen_tz", "flag"):
        values, kind = masked(con, column, Mask(operator="pass_through"))
        assert (values, kind) == (original(con, column), COLUMNS[column])


def kept(con: duckdb.DuckDBPyConnection, *filters: RowFilter) -> list[int]:
    condition = filter_condition(filters, lambda name: exp.column(name, quoted=True))
    sql = f"SELECT id FROM people WHERE {condition.sql('duckdb')} ORDER BY id"
    return [row[0] for row in con.execute(sql).fetchall()]


# column, operator, value, ids kept (row 3 is all NULL: no comparison keeps it)
FILTER_CASES = [
    ("age", "equals", 27, [1]),
    ("age", "not_equals", 27, [2, 4, 5]),
    ("age", "less_than", 18, [2]),
    ("age", "less_than_equals", 18, [2, 5]),
    ("age", "greater_than", 27, [4]),
    ("age", "greater_than_equals", 27, [1, 4]),
    ("age", "in", [10, 65], [2, 4]),
    ("age", "not_in", [10, 65], [1, 5]),
    ("age", "in", [], []),
    ("age", "not_in", [], [1, 2, 3, 4, 5]),
    ("name", "equals", "O'Brien \\ $1", [2]),
    ("name", "in", ["", "a1b2"], [1, 5]),
    ("flag", "equals", True, [1, 4]),
    ("flag", "not_equals", True, [2]),
    ("ratio", "less_than", 17.9995, [2, 5]),
    ("score", "greater_than_equals", 27.5, [1, 4]),
    ("big", "greater_than", 2**33, [4]),
    ("born", "less_than", "2024-01-01", [4]),
]


@pytest.mark.parametrize(("column", "operator", "value", "ids"), FILTER_CASES)
def test_filter_operators_keep_the_rows_sql_keeps(
    con: duckdb.DuckDBPyConnection, column: str, operator: str, value: Any, ids: list[int]
) -> None:
    assert kept(con, RowFilter(column=column, operator=operator, value=value)) == ids


def test_filters_are_anded(con: duckdb.DuckDBPyConnection) -> None:
    young = RowFilter(column="age", operator="less_than", value=30)
    flagged = RowFilter(column="flag", operator="equals", value=True)
    assert kept(con, young, flagged) == [1]
    assert kept(con) == [1, 2, 3, 4, 5], "no filter keeps every row"


def test_non_finite_numbers_and_mismatched_values_are_refused() -> None:
    with pytest.raises(Refused, match="no SQL literal"):
        filter_condition([RowFilter(column="a", operator="less_than", value=float("inf"))], exp.column)  # fmt: skip
    with pytest.raises(Refused, match="list"):
        filter_condition([RowFilter(column="a", operator="in", value="x")], exp.column)
    with pytest.raises(Refused, match="list"):
        filter_condition([RowFilter(column="a", operator="equals", value=["x"])], exp.column)


# Policy values from anywhere in Unicode (no lone surrogates: they are not UTF-8).
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
NASTY = st.sampled_from(
    ["'", "''", "\\", "\\'", '"', "$1", "\\1", "%", "_", ".*", "\x00", "\n", "é"]
)
VALUES = st.one_of(TEXT, NASTY, st.lists(st.one_of(TEXT, NASTY), max_size=4).map("".join))
COMPARE = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "less_than": lambda a, b: a < b,
    "less_than_equals": lambda a, b: a <= b,
    "greater_than": lambda a, b: a > b,
    "greater_than_equals": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture
def scratch(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return con.cursor()


@FUZZ
@given(
    rows=st.lists(st.one_of(st.none(), VALUES), max_size=8),
    operator=st.sampled_from(sorted(COMPARE)),
    value=VALUES,
    more=st.lists(VALUES, max_size=3),
)
def test_filters_with_any_text_keep_what_python_keeps(
    scratch: duckdb.DuckDBPyConnection, rows: list[str | None], operator: str, value: str, more: list[str]
) -> None:  # fmt: skip
    rows = [*rows, value, *more]
    scratch.execute("CREATE OR REPLACE TEMP TABLE fuzz (id INTEGER, v VARCHAR)")
    scratch.executemany("INSERT INTO fuzz VALUES (?, ?)", list(enumerate(rows)))
    wanted = [value, *more] if operator in ("in", "not_in") else value
    row = RowFilter(column="v", operator=operator, value=wanted)
    condition = filter_condition([row], lambda name: exp.column(name, quoted=True)).sql("duckdb")
    found = [r[0] for r in scratch.execute(f"SELECT id FROM fuzz WHERE {condition} ORDER BY id").fetchall()]  # fmt: skip
    expected = [i for i, v in enumerate(rows) if v is not None and COMPARE[operator](v, wanted)]
    assert found == expected


@FUZZ
@given(replacement=VALUES, text=VALUES)
def test_redact_with_any_text_returns_it_verbatim(
    scratch: duckdb.DuckDBPyConnection, replacement: str, text: str
) -> None:
    mask = Mask(operator="redact", redact=RedactMask(replacement=replacement))
    sql = mask_expression(exp.column("v"), "VARCHAR", mask).sql("duckdb")
    assert scratch.execute(f"SELECT {sql} FROM (SELECT ? AS v)", [text]).fetchall() == [(replacement,)]  # fmt: skip


def java_escaped(text: str) -> str:
    """Literal text in Trino's replacement syntax."""
    return re.sub(r"([\\$])", r"\\\1", text)


def trino_replacement(parts: list[tuple[str, str]]) -> str:
    """Parts in Trino's syntax; a digit right after ``$n`` is escaped, since Trino would
    read it as more digits of the group number (``$00`` is group 0)."""
    out, after_number = "", False
    for kind, text in parts:
        piece = java_escaped(text) if kind == "text" else f"${text}"
        if kind == "text" and after_number and piece[:1].isdigit():
            piece = "\\" + piece
        out += piece
        after_number = (kind == "group" and text.isdigit()) or (after_number and not piece)
    return out


REPLACEMENT_PARTS = st.lists(
    st.one_of(
        VALUES.map(lambda t: ("text", t)),
        st.sampled_from([("group", "1"), ("group", "{word}"), ("group", "0")]),
    ),
    max_size=5,
)


@FUZZ
@given(parts=REPLACEMENT_PARTS, text=VALUES)
def test_regex_replacements_with_any_text_insert_literals_and_groups(
    scratch: duckdb.DuckDBPyConnection, parts: list[tuple[str, str]], text: str
) -> None:
    """The replacement is built from parts; Python computes what each match becomes."""
    replacement = trino_replacement(parts)
    subject = f"{text} ab1 c2"
    mask = regex("(?P<word>[a-z]+)[0-9]", replacement)

    def expected_for(match: re.Match[str]) -> str:
        groups = {"1": match[1], "{word}": match[1], "0": match[0]}
        return "".join(t if kind == "text" else groups[t] for kind, t in parts)

    expected = re.sub("(?P<word>[a-z]+)[0-9]", expected_for, subject)
    sql = mask_expression(exp.column("v"), "VARCHAR", mask).sql("duckdb")
    assert scratch.execute(f"SELECT {sql} FROM (SELECT ? AS v)", [subject]).fetchall() == [(expected,)]  # fmt: skip


@FUZZ
@given(replacement=VALUES, pattern=st.sampled_from(["x", "(a)(b)?", "[$\\\\']", "'"]), text=VALUES)
def test_raw_regex_parameters_run_or_are_refused(
    scratch: duckdb.DuckDBPyConnection, replacement: str, pattern: str, text: str
) -> None:
    """What the policy model accepts runs; what it refuses the Gateway refuses too."""
    try:
        mask = regex(pattern, replacement)
    except ValidationError as invalid:
        assert "regex_replace replacement" in str(invalid)
        with pytest.raises(Refused) as refusal:
            re2_replacement(pattern, replacement)
        assert refusal.value.code == "unsupported_mask"
        return
    sql = mask_expression(exp.column("v"), "VARCHAR", mask).sql("duckdb")
    result = scratch.execute(f"SELECT {sql} FROM (SELECT ? AS v)", [text]).fetchall()
    assert isinstance(result[0][0], str)
