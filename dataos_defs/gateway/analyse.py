"""What the Gateway accepts, decided before anything is rewritten (fail closed).

A statement is one query (SELECT, a set operation, WITH ... SELECT, VALUES) or one of the
catalog statements answered by ``show.py``. A query is accepted only when every node of its
tree is a construct the rewrite is known to govern:

* node classes come from an allow-list (expressions, query clauses, sources); anything
  sqlglot parses that is not on it (``INTO``, ``FOR UPDATE``, ``PIVOT``, ``TABLESAMPLE``,
  parameters, ...) is refused;
* functions: the typed functions sqlglot knows are pure computations, except the few that
  reach files, settings, sequences or the session (``DENIED_FUNCTIONS``); a function sqlglot
  does not know (``exp.Anonymous``) is refused unless it is on ``ALLOWED_UNTYPED``;
* sources: a base table (a plain, possibly qualified name), a subquery, VALUES, UNNEST or
  LATERAL (subquery); a table function in FROM is refused whatever its name;
* words and types: unquoted names and keywords are plain words, types are standard ones
  (``fidelity.py``: what is written out verbatim must read the same to the engine).

Names fold to lower case as Trino folds them, quoted ones included (``fold_identifiers``):
``"CUSTOMERS"``, ``Customers`` and ``customers`` are one table, and the same for schemas,
catalogs, columns, aliases and CTE names. Table names (``dataset_name``):
``depot.collection.dataset``; two parts take the session's catalog, one part its catalog
and schema.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dataos_defs.gateway.fidelity import PARSER_FAULTS, check_type, check_word
from dataos_defs.gateway.model import Catalog, Refused, Table, TableName

ACCEPTED = "the Gateway runs one SELECT, WITH, VALUES, SHOW, DESCRIBE or EXPLAIN statement"
QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", ""})
"""How a query starts (``""``: with a parenthesis, or nothing but comments)."""
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "system"})
SYSTEM_CATALOGS = frozenset({"system", "system_catalog", "temp", "memory"})

_PARSER_ERRORS: tuple[type[Exception], ...] = (ParseError, TokenError, *PARSER_FAULTS)
_LEADING_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z_]+)", re.DOTALL)

ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Condition,  # columns, literals, operators, predicates, CASE, CAST, windows, functions
    exp.Select,
    exp.SetOperation,
    exp.Subquery,
    exp.Values,
    exp.Lateral,
    exp.With,
    exp.CTE,
    exp.From,
    exp.Join,
    exp.Where,
    exp.Group,
    exp.GroupingSets,
    exp.Cube,
    exp.Rollup,
    exp.Having,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.LimitOptions,
    exp.Offset,
    exp.Fetch,
    exp.WindowSpec,
    exp.Filter,
    exp.Table,
    exp.TableAlias,
    exp.Alias,
    exp.Identifier,
    exp.Star,
    exp.Distinct,
    exp.Tuple,
    exp.Lambda,
    exp.Interval,
    exp.AtTimeZone,
    exp.DataType,
    exp.DataTypeParam,
    exp.ColumnDef,
    exp.Var,
    exp.JSONPath,
    exp.JSONPathPart,
)
DENIED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Placeholder,
    exp.Parameter,
    exp.SessionParameter,
)
UNTYPED_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Anonymous,
    exp.AnonymousAggFunc,
    exp.CombinedAggFunc,
    exp.CombinedParameterizedAgg,
    exp.ParameterizedAgg,
)
ALLOWED_UNTYPED = frozenset(
    {
        "every",
        "codepoint",
        "hamming_distance",
        "infinity",
        "nan",
        "e",
        "xxhash64",
        "bit_count",
        "url_extract_host",
        "url_extract_path",
        "url_extract_protocol",
        "url_extract_query",
        "url_extract_port",
        "url_extract_fragment",
        "with_timezone",
        "at_timezone",
        "format_datetime",
        "zip",
        "cosine_similarity",
    }
)
"""Trino functions sqlglot leaves untyped that compute only on their arguments."""
_TIME_OF_QUERY = frozenset(
    {"CurrentDate", "CurrentTime", "CurrentTimestamp", "CurrentDatetime", "CurrentTimezone"}
)
_DENIED_BY_NAME = frozenset(
    {
        "ReadCSV",
        "ReadParquet",
        "ToFile",
        "GenerateTable",
        "JSONTable",
        "XMLTable",
        "SplitToTable",
        "StrtokSplitToTable",
        "NextValueFor",
        "SessionUser",
    }
)
DENIED_FUNCTIONS = frozenset(
    name
    for name, value in vars(exp).items()
    if isinstance(value, type)
    and issubclass(value, exp.Func)
    and (
        name in _DENIED_BY_NAME
        or (name.startswith("Current") and name not in _TIME_OF_QUERY)
        or re.match(r"(AI|ML)[A-Z]", name)
    )
)
"""Typed functions that read files, sequences, settings, the session or external models."""
_SEPARATORS = frozenset("./:")
_TABLE_PARTS = frozenset({"this", "db", "catalog", "alias", "joins"})
"""What a table reference may carry (``joins``: ``FROM (a JOIN b ON ...)``)."""
SESSION_VALUES = frozenset(
    {
        "user",
        "current_user",
        "session_user",
        "system_user",
        "current_role",
        "current_catalog",
        "current_schema",
        "current_schemas",
        "current_database",
        "current_path",
    }
)
"""Names an engine answers with a session value when no column has them (DuckDB:
``SELECT current_schema``, even quoted): an unqualified column so named is refused."""


def leading_keyword(sql: str) -> tuple[str, int]:
    """The statement's first word in upper case (comments skipped) and where it ends.

    >>> leading_keyword("/* hi */ show tables")
    ('SHOW', 13)
    """
    found = _LEADING_WORD.match(sql)
    if found is None:
        return "", 0
    return found.group(1).upper(), found.end()


def parse_query(sql: str, read: str) -> exp.Expr:
    """The one query ``sql`` holds, or Refused."""
    keyword = leading_keyword(sql)[0]
    if keyword not in QUERY_KEYWORDS:
        raise Refused(f"{keyword} statements are not accepted", ACCEPTED)
    try:
        parsed = sqlglot.parse(sql, read=read)
        statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    except _PARSER_ERRORS as exc:
        raise Refused(
            f"cannot parse the statement: {_first_line(exc)}",
            f"write one query in {read} SQL",
        ) from None
    if not statements:
        raise Refused("the statement is empty", ACCEPTED)
    if len(statements) > 1:
        raise Refused(
            f"{len(statements)} statements were sent; only one is accepted at a time",
            "send each statement on its own",
        )
    statement = statements[0]
    if isinstance(statement, exp.Subquery) and isinstance(statement.unnest(), exp.Query):
        return statement
    if not isinstance(statement, exp.Query | exp.Values):
        word = type(statement).__name__.upper()
        raise Refused(f"{word} statements are not accepted", ACCEPTED)
    return statement


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_constructs(tree: exp.Expr) -> None:
    """Refuse a query holding anything the rewrite cannot prove it governs."""
    for node in tree.walk():
        if isinstance(node, DENIED_NODES) or not isinstance(node, ALLOWED_NODES):
            raise Refused(
                f"{_shown(node)} is not supported by the Gateway",
                "write plain SELECT queries over datasets (no parameters, INTO, locks, "
                "PIVOT, TABLESAMPLE, ...)",
            )
        if isinstance(node, exp.Func):
            _check_function(node)
        elif isinstance(node, exp.Identifier | exp.Var):
            check_word(node)
        elif isinstance(node, exp.DataType):
            check_type(node)
        elif isinstance(node, exp.Table):
            _check_table_shape(node)
        elif (
            isinstance(node, exp.Column) and not node.table and node.name.lower() in SESSION_VALUES
        ):
            raise Refused(
                f"the unqualified name '{node.name}' is not accepted: the engine may answer it "
                "with a session value",
                f"qualify the column with its table (t.{node.name})",
            )
        elif isinstance(node, exp.Lateral) and not isinstance(node.this, exp.Subquery):
            raise Refused(f"{_shown(node)} is not supported", "use LATERAL (subquery)")
        elif isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            raise Refused(
                f"the qualified function {_shown(node)} is not accepted",
                "call functions by their plain name",
            )


def _check_function(node: exp.Func) -> None:
    if isinstance(node, UNTYPED_FUNCTIONS):
        name = str(node.name or node.this).lower()
        if name not in ALLOWED_UNTYPED:
            raise Refused(
                f"function '{name}' is not allowed",
                "only scalar, aggregate and window functions that compute on their "
                "arguments are accepted; functions that read files, tables or settings are not",
            )
    elif type(node).__name__ in DENIED_FUNCTIONS:
        raise Refused(
            f"function '{node.sql_name().lower()}' is not allowed",
            "functions that read files, tables, sequences, settings or the session are "
            "refused by the Gateway",
        )


def _check_table_shape(node: exp.Table) -> None:
    if not isinstance(node.this, exp.Identifier):
        raise Refused(
            f"table function {_shown(node.this)} is not allowed",
            "read datasets by name (depot.collection.dataset); table functions reach "
            "storage directly",
        )
    extra = sorted(key for key, value in node.args.items() if value and key not in _TABLE_PARTS)
    if extra:
        raise Refused(
            f"{_shown(node)}: table options ({', '.join(extra)}) are not supported",
            "read the dataset by its name only",
        )


def _shown(node: exp.Expr, limit: int = 60) -> str:
    try:
        text = node.sql("trino")
    except Exception:
        text = ""
    text = text or type(node).__name__.upper()
    return f"'{text[:limit]}...'" if len(text) > limit else f"'{text}'"


def spelled(identifier: exp.Identifier) -> str:
    """A name as the catalog stores it: folded to lower case, quoted or not (Trino)."""
    return fold(identifier.this)


def fold(name: str) -> str:
    """A name as Trino compares it (``"EMAIL"`` is ``email``)."""
    return name.lower()


def fold_identifiers(tree: exp.Expr) -> None:
    """Every name of ``tree`` folded to lower case, so the engine resolves each one as
    Trino does, whatever its own rules for quoted or non-ASCII names."""
    for identifier in tree.find_all(exp.Identifier):
        name = identifier.this
        if isinstance(name, str) and name != (folded := fold(name)):
            identifier.set("this", folded)


def dataset_name(
    node: exp.Table, default_catalog: str | None, default_schema: str | None
) -> TableName:
    """The dataset a table reference names, with the session's defaults filled in."""
    parts = [node.args.get(key) for key in ("catalog", "db", "this")]
    given = [spelled(part) for part in parts if isinstance(part, exp.Identifier)]
    defaults = [_folded(default_catalog), _folded(default_schema)][: 3 - len(given)]
    if None in defaults:
        lacking = "catalog" if default_catalog is None else "schema"
        raise Refused(
            f"table '{'.'.join(given)}' is not fully qualified and the session has no "
            f"default {lacking}",
            "name datasets as depot.collection.dataset, or set the session's catalog and schema",
        )
    depot, collection, dataset = [name for name in defaults if name is not None] + given
    return TableName(depot, collection, dataset)


def _folded(name: str | None) -> str | None:
    return None if name is None else fold(name)


def resolve(
    catalog: Catalog,
    node: exp.Table,
    default_catalog: str | None,
    default_schema: str | None,
) -> Table:
    """The dataset behind a base table reference, or Refused when the cluster has none.

    System, information-schema and pg_catalog tables are readable only when the catalog
    itself governs them (lists them as datasets). A name part holding ``.``, ``/`` or
    ``:`` names no dataset: its id and its address (``dataos://depot:collection/dataset``,
    what Heimdall authorizes) would read as other parts."""
    name = dataset_name(node, default_catalog, default_schema)
    table = None if _ambiguous(name) else catalog.table(name)
    if table is not None:
        return table
    if name.collection.lower() in SYSTEM_SCHEMAS or name.depot.lower() in SYSTEM_CATALOGS:
        raise Refused(
            f"table '{name.dataset_id}' is a system table the Gateway does not govern",
            "use SHOW CATALOGS / SCHEMAS / TABLES / COLUMNS or DESCRIBE to explore the catalog",
        )
    raise Refused(
        f"table '{name.dataset_id}' does not exist or is not visible",
        "name datasets as depot.collection.dataset; SHOW TABLES FROM depot.collection lists them",
    )


def _ambiguous(name: TableName) -> bool:
    parts = (name.depot, name.collection, name.dataset)
    return any(not part or _SEPARATORS & set(part) for part in parts)
