"""Type names between DuckDB and Trino spelling.

Results leave every cluster with Trino type names (``varchar``, ``decimal(10,2)``,
``timestamp(6) with time zone``, ``array(integer)``, ``row(a integer)``), the names Trino's
client protocol and clients expect. Catalog columns carry DuckDB spelling (the Gateway's
masks cast back to it), so a Trino cluster's columns are translated the other way.

DuckDB has types Trino lacks: unsigned and 128-bit integers become the smallest ``decimal``
that holds them, ``ENUM``, ``UNION``, ``BIT`` and ``BIGNUM`` become ``varchar``.
"""

from __future__ import annotations

import re

_DUCKDB_TO_TRINO = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "decimal(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "decimal(20,0)",
    "UHUGEINT": "decimal(38,0)",
    "FLOAT": "real",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "BLOB": "varbinary",
    "DATE": "date",
    "TIME": "time(6)",
    "TIME_NS": "time(9)",
    "TIME WITH TIME ZONE": "time(6) with time zone",
    "TIMESTAMP_S": "timestamp(0)",
    "TIMESTAMP_MS": "timestamp(3)",
    "TIMESTAMP": "timestamp(6)",
    "TIMESTAMP_NS": "timestamp(9)",
    "TIMESTAMP WITH TIME ZONE": "timestamp(6) with time zone",
    "INTERVAL": "interval day to second",
    "UUID": "uuid",
    "JSON": "json",
    '"NULL"': "unknown",
}

_TRINO_TO_DUCKDB = {
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "varbinary": "BLOB",
    "date": "DATE",
    "uuid": "UUID",
    "json": "JSON",
    "interval day to second": "INTERVAL",
    "interval year to month": "INTERVAL",
    "unknown": '"NULL"',
}

_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_ZONE = " with time zone"
_TEMPORAL = re.compile(r"^(timestamp|time)( with time zone)?$")


def trino_type(duckdb_type: str) -> str:
    """The Trino name of a DuckDB type as DuckDB spells it (``DESCRIBE``, cursor types).

    >>> trino_type("STRUCT(a INTEGER, \\"b c\\" DECIMAL(10,2)[])")
    'row(a integer, "b c" array(decimal(10,2)))'
    """
    text = duckdb_type.strip()
    if text.endswith("]"):
        return f"array({trino_type(text[: text.rindex('[')])})"
    head, args = split_call(text)
    name = head.upper()
    if args is None:
        return _DUCKDB_TO_TRINO.get(name, "varchar")
    if name in ("DECIMAL", "NUMERIC") and len(args) == 2:
        return f"decimal({int(args[0])},{int(args[1])})"
    if name == "STRUCT":
        fields = (split_field(arg) for arg in args)
        return "row(" + ", ".join(f"{_name(n)} {trino_type(t)}" for n, t in fields) + ")"
    if name == "MAP" and len(args) == 2:
        return f"map({trino_type(args[0])}, {trino_type(args[1])})"
    return "varchar"


def duckdb_type(trino: str) -> str:
    """The DuckDB spelling of a Trino type name (``information_schema``, result columns).

    >>> duckdb_type("row(a integer, tags array(varchar(20)))")
    'STRUCT("a" INTEGER, "tags" VARCHAR[])'
    """
    text = trino.strip()
    zoned = text.lower().endswith(_ZONE)
    if zoned:
        text = text[: -len(_ZONE)].strip()
    head, args = split_call(text)
    name = head.strip().lower()
    if name in ("timestamp", "time"):
        return _temporal(name, int(args[0]) if args else 3, zoned)
    if args is None or name in ("varchar", "char"):
        return _TRINO_TO_DUCKDB.get(name, "VARCHAR")
    if name == "decimal":
        scale = int(args[1]) if len(args) > 1 else 0
        return f"DECIMAL({int(args[0])},{scale})"
    if name == "array" and len(args) == 1:
        return f"{duckdb_type(args[0])}[]"
    if name == "map" and len(args) == 2:
        return f"MAP({duckdb_type(args[0])}, {duckdb_type(args[1])})"
    if name == "row":
        fields = [_row_field(arg, index) for index, arg in enumerate(args)]
        return "STRUCT(" + ", ".join(f"{_quoted(n)} {duckdb_type(t)}" for n, t in fields) + ")"
    return "VARCHAR"


def _temporal(name: str, precision: int, zoned: bool) -> str:
    if name == "time":
        base = "TIME_NS" if precision > 6 else "TIME"
        return "TIME WITH TIME ZONE" if zoned else base
    if zoned:
        return "TIMESTAMP WITH TIME ZONE"
    if precision == 0:
        return "TIMESTAMP_S"
    if precision <= 3:
        return "TIMESTAMP_MS"
    return "TIMESTAMP" if precision <= 6 else "TIMESTAMP_NS"


def _name(field: str) -> str:
    """A Trino field name, quoted unless it is a plain lower-case identifier."""
    return field if _PLAIN_NAME.match(field) else _quoted(field)


def _quoted(field: str) -> str:
    """A DuckDB field name, always quoted (a keyword such as ``select`` is a valid name)."""
    return '"' + field.replace('"', '""') + '"'


def _row_field(arg: str, index: int) -> tuple[str, str]:
    """Trino row fields may be unnamed (``row(integer, varchar)``): DuckDB needs names."""
    name, rest = split_field(arg)
    quoted = arg.lstrip().startswith('"')
    if not rest or (not quoted and _is_type_phrase(arg)):
        return f"field{index}", arg
    return name, rest


def _is_type_phrase(text: str) -> bool:
    """Whether ``text`` is a type on its own (``timestamp(3) with time zone``), not a name
    followed by a type."""
    words = text.lower().split()
    phrase = " ".join(words)
    return "(" in words[0] or phrase in _TRINO_TO_DUCKDB or bool(_TEMPORAL.match(phrase))


def split_call(text: str) -> tuple[str, list[str] | None]:
    """``DECIMAL(10,2)`` -> ``("DECIMAL", ["10", "2"])``; a name without arguments -> None."""
    if not text.endswith(")") or "(" not in text:
        return text, None
    start = text.index("(")
    return text[:start].strip(), split_top_level(text[start + 1 : -1])


def split_top_level(text: str) -> list[str]:
    """Comma-separated parts outside brackets and quotes."""
    parts: list[str] = []
    depth, quote = 0, ""
    current: list[str] = []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def split_field(text: str) -> tuple[str, str]:
    """``"b c" VARCHAR`` -> ``("b c", "VARCHAR")``; ``a INTEGER`` -> ``("a", "INTEGER")``."""
    text = text.strip()
    if text.startswith('"'):
        index = 1
        while index < len(text):
            if text[index] == '"':
                if text[index + 1 : index + 2] == '"':
                    index += 2
                    continue
                break
            index += 1
        return text[1:index].replace('""', '"'), text[index + 1 :].strip()
    name, _, rest = text.partition(" ")
    return name, rest.strip()
