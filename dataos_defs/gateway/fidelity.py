"""The engine must read the rewritten SQL exactly as the analyser read the user's.

The rewrite analyses a Trino tree and writes it out in the engine's dialect; whatever the
generator copies verbatim is read again by the engine's own lexer, which has rules sqlglot's
Trino reader does not share. DuckDB reads ``$a$ ... $a$`` as a string, so an identifier
``$a$`` followed by a string literal holding ``$a$`` would let the engine see, as code, text
the analyser saw as a string (``SELECT $a$, '$a$, * FROM <physical table> --'``). Three
rules close that gap, each on its own:

* every word the generator copies verbatim (an unquoted identifier, a ``Var`` such as an
  interval unit) is spelled as Trino's grammar spells an unquoted identifier: ASCII
  letters, digits and ``_``, not starting with a digit (``check_word``);
* every type is one both engines have built in (``check_type``): DuckDB installs an
  extension from the network for a type it knows of but does not have (``INET``);
* the rewritten SQL, split into tokens by the engine dialect's lexer, holds only the kinds
  of token the generator writes (``check_lexed``): no other kind of string, no comment, no
  parameter, no second statement.

Identifiers are written quoted in the rewritten SQL (``identify=True``): a quoted name is
only ever a name, whichever words are keywords to the engine. What the engine's dialect
cannot express is refused (sqlglot's default drops it with a warning), and so is input
that makes sqlglot itself fail (``PARSER_FAULTS``): a refusal, never a crash.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.tokens import TokenType

from dataos_defs.gateway.model import Refused

PARSER_FAULTS: tuple[type[Exception], ...] = (
    AttributeError,
    IndexError,
    TypeError,
    ValueError,
    RecursionError,
)
"""What sqlglot raises, besides its own errors, on input it does not expect (a function
with too few arguments, nesting deeper than Python's stack): a refusal, not a crash."""
_GENERATOR_ERRORS: tuple[type[Exception], ...] = (UnsupportedError, ParseError, *PARSER_FAULTS)

PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLAIN_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?: [A-Za-z_][A-Za-z0-9_]*)*")
ALLOWED_TYPES = frozenset(
    {
        exp.DType.BOOLEAN,
        exp.DType.TINYINT,
        exp.DType.SMALLINT,
        exp.DType.INT,
        exp.DType.BIGINT,
        exp.DType.INT128,
        exp.DType.FLOAT,
        exp.DType.DOUBLE,
        exp.DType.DECIMAL,
        exp.DType.VARCHAR,
        exp.DType.NVARCHAR,
        exp.DType.CHAR,
        exp.DType.NCHAR,
        exp.DType.TEXT,
        exp.DType.VARBINARY,
        exp.DType.BINARY,
        exp.DType.BLOB,
        exp.DType.JSON,
        exp.DType.UUID,
        exp.DType.DATE,
        exp.DType.TIME,
        exp.DType.TIMETZ,
        exp.DType.TIMESTAMP,
        exp.DType.TIMESTAMPTZ,
        exp.DType.TIMESTAMPLTZ,
        exp.DType.TIMESTAMPNTZ,
        exp.DType.INTERVAL,
        exp.DType.ARRAY,
        exp.DType.LIST,
        exp.DType.MAP,
        exp.DType.STRUCT,
    }
)
"""Types a cast may name: Trino's standard types and what sqlglot reads them as."""
NEVER_WRITTEN = frozenset(
    {
        TokenType.HEREDOC_STRING,
        TokenType.RAW_STRING,
        TokenType.BYTE_STRING,
        TokenType.NATIONAL_STRING,
        TokenType.UNICODE_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.PARAMETER,
        TokenType.PLACEHOLDER,
        TokenType.SESSION_PARAMETER,
        TokenType.SEMICOLON,
    }
)
"""Tokens the rewrite's SQL never holds: it quotes strings as '...' and names as "..."."""


def check_word(node: exp.Identifier | exp.Var) -> None:
    """Refuse an unquoted name or keyword the engine could read as something else."""
    if isinstance(node, exp.Identifier):
        if node.quoted or PLAIN_WORD.fullmatch(node.this):
            return
        raise Refused(
            f"the unquoted name {node.this!r} is not a plain name",
            'quote names holding characters other than letters, digits and _ ("a$b")',
        )
    if not PLAIN_WORDS.fullmatch(str(node.this)):
        raise Refused(
            f"the word {str(node.this)!r} is not accepted",
            "write units and keywords as plain words (letters, digits and _)",
        )


def check_type(node: exp.DataType) -> None:
    """Refuse a type outside ``ALLOWED_TYPES`` (intervals with units are allowed)."""
    if isinstance(node, exp.IntervalSpan) or isinstance(node.this, exp.Interval):
        return
    if node.this in ALLOWED_TYPES:
        return
    shown = node.sql("trino") or str(node.this)
    raise Refused(
        f"the type {shown!r} is not supported by the Gateway",
        "cast to standard SQL types (boolean, integers, real, double, decimal, varchar, "
        "char, varbinary, json, uuid, date, time, timestamp, interval, array, map, row)",
    )


def trino_json_casts(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Trino's ``CAST(x AS JSON)`` makes ``x`` a JSON value (a VARCHAR becomes a JSON
    string); DuckDB's parses a VARCHAR as JSON text. For DuckDB, write ``to_json(x)``, which
    serializes ``x`` as Trino does (strings, numbers, arrays, maps, named rows)."""
    if dialect != "duckdb":
        return tree
    for cast in list(tree.find_all(exp.Cast)):
        target = cast.args.get("to")
        if isinstance(target, exp.DataType) and target.is_type(exp.DataType.Type.JSON):
            cast.replace(exp.Anonymous(this="to_json", expressions=[cast.this.copy()]))
    return tree


def engine_sql(tree: exp.Expr, dialect: str) -> str:
    """``tree`` written in ``dialect`` with every name quoted and no comments, refused when
    the dialect cannot express part of it (sqlglot would otherwise drop that part with a
    warning) or when the engine would read other tokens than those written."""
    try:
        sql = tree.sql(
            dialect=dialect,
            comments=False,
            identify=True,
            unsupported_level=ErrorLevel.RAISE,
        )
    except _GENERATOR_ERRORS as error:
        raise Refused(
            f"the statement cannot be written for the engine: {_first_line(error)}",
            "rewrite the statement with standard functions and clauses",
        ) from None
    check_lexed(sql, dialect)
    return sql


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def check_lexed(sql: str, dialect: str) -> None:
    """Refuse ``sql`` when the ``dialect``'s lexer finds in it a token the generator never
    writes (a dollar-quoted or escape string, a comment, a parameter, a second statement):
    the engine would then read other tokens than those governed."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except (TokenError, ParseError, ValueError):
        tokens = None
    if tokens is None or any(t.token_type in NEVER_WRITTEN or t.comments for t in tokens):
        raise Refused(
            "the statement cannot be written for the engine with the same meaning",
            "use plain names, standard string literals and no parameters",
        )
