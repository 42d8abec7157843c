"""SHOW and DESCRIBE, answered from the catalog rather than by the engine.

The engine's own SHOW would list its physical tables, so the Gateway answers these
statements itself: each becomes ``SELECT ... FROM (VALUES ...)`` over the datasets the
caller may see (``may_see``), with the columns Trino names:

* ``SHOW CATALOGS`` → ``Catalog``; ``SHOW SCHEMAS [FROM|IN catalog]`` → ``Schema``;
* ``SHOW TABLES [FROM|IN [catalog.]schema]`` → ``Table``;
* ``SHOW COLUMNS FROM|IN table`` and ``DESCRIBE table`` → ``Column``, ``Type``, ``Extra``,
  ``Comment``.

Each accepts a trailing ``LIKE 'pattern' [ESCAPE 'c']`` (except DESCRIBE, as in Trino). A
catalog or schema holding no visible dataset does not exist for the caller, and is refused
with the same words as an unknown table. Names follow ``analyse.py``'s rule (Trino's:
every name folds to lower case, quoted ones included).

sqlglot 30 parses Trino's SHOW as an opaque ``exp.Command`` and DESCRIBE as
``exp.Describe``; rather than trust either shape, the words after the keyword are read
here from sqlglot's tokens, and anything but the forms above is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from dataos_defs.gateway.analyse import fold, resolve, spelled
from dataos_defs.gateway.model import Catalog, Refused, Rewritten, StatementKind, TableName

SHOW_FORMS = (
    "SHOW CATALOGS, SHOW SCHEMAS [FROM catalog], SHOW TABLES [FROM catalog.schema], "
    "SHOW COLUMNS FROM table (each with an optional LIKE 'pattern') and DESCRIBE table"
)
COLUMN_HEADERS = ("Column", "Type", "Extra", "Comment")
_NAME_TOKENS = frozenset({TokenType.VAR, TokenType.IDENTIFIER})
_SEPARATORS = frozenset({TokenType.DOT, TokenType.SEMICOLON, TokenType.STRING})


@dataclass(frozen=True)
class _Like:
    pattern: str
    escape: str | None


class _Tokens:
    """The words after SHOW/DESCRIBE, read left to right."""

    def __init__(self, text: str, read: str) -> None:
        try:
            self.tokens: list[Token] = Dialect.get_or_raise(read).tokenize(text)
        except (TokenError, ParseError):
            raise _unreadable() from None
        while self.tokens and self.tokens[-1].token_type == TokenType.SEMICOLON:
            self.tokens.pop()
        self.position = 0

    def peek(self) -> str:
        token = self._current()
        return "" if token is None or token.token_type == TokenType.STRING else token.text.upper()

    def take(self, *words: str) -> str | None:
        word = self.peek()
        if word in words:
            self.position += 1
            return word
        return None

    def name(self) -> list[exp.Identifier]:
        """A dotted name (``a.b.c``); any bare word is a name part, keywords included."""
        parts = [self._part()]
        while (token := self._current()) is not None and token.token_type == TokenType.DOT:
            self.position += 1
            parts.append(self._part())
        return parts

    def like(self) -> _Like | None:
        if self.take("LIKE") is None:
            return None
        pattern = self._string()
        escape = self._string() if self.take("ESCAPE") else None
        return _Like(pattern, escape)

    def end(self) -> None:
        if self._current() is not None:
            raise _unreadable()

    def _current(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _part(self) -> exp.Identifier:
        token = self._current()
        if token is None or (
            token.token_type not in _NAME_TOKENS
            and (token.token_type in _SEPARATORS or not token.text.isidentifier())
        ):
            raise _unreadable()
        self.position += 1
        return exp.Identifier(this=token.text, quoted=token.token_type == TokenType.IDENTIFIER)

    def _string(self) -> str:
        token = self._current()
        if token is None or token.token_type != TokenType.STRING:
            raise _unreadable()
        self.position += 1
        return token.text


def _unreadable() -> Refused:
    return Refused(
        "this SHOW/DESCRIBE statement is not supported", f"the Gateway answers {SHOW_FORMS}"
    )


@dataclass(frozen=True)
class Session:
    """What a statement is read against: dialects, default catalog and schema, and which
    datasets the caller may see (SHOW and DESCRIBE reveal only those)."""

    read: str = "trino"
    write: str = "duckdb"
    default_catalog: str | None = None
    default_schema: str | None = None
    may_see: Callable[[TableName], bool] = lambda _: False


def show(text: str, catalog: Catalog, session: Session) -> Rewritten:
    """The answer to ``SHOW <text>``."""
    tokens = _Tokens(text, session.read)
    visible = [name for name in catalog.tables() if session.may_see(name)]
    what = tokens.take("CATALOGS", "SCHEMAS", "TABLES", "COLUMNS")
    if what == "CATALOGS":
        rows = sorted({(name.depot,) for name in visible})
        return _answer("show", ("Catalog",), rows, tokens, session.write)
    if what == "SCHEMAS":
        parts = tokens.name() if tokens.take("FROM", "IN") else None
        depot = _only_part(parts) if parts else _default(session.default_catalog, "catalog")
        inside = [name for name in visible if _matches(depot, name.depot)]
        if not inside:
            raise _not_visible("catalog", spelled(depot))
        rows = sorted({(name.collection,) for name in inside})
        return _answer("show", ("Schema",), rows, tokens, session.write)
    if what == "TABLES":
        return _tables(tokens, visible, session)
    if what == "COLUMNS" and tokens.take("FROM", "IN"):
        return _columns("show", tokens, catalog, session)
    raise _unreadable()


def _tables(tokens: _Tokens, visible: list[TableName], session: Session) -> Rewritten:
    parts = tokens.name() if tokens.take("FROM", "IN") else []
    if len(parts) > 2:
        raise _unreadable()
    if len(parts) < 2:
        parts = [_default(session.default_catalog, "catalog"), *parts]
    if len(parts) < 2:
        parts.append(_default(session.default_schema, "schema"))
    depot, collection = parts
    inside = [
        name
        for name in visible
        if _matches(depot, name.depot) and _matches(collection, name.collection)
    ]
    if not inside:
        raise _not_visible("schema", f"{spelled(depot)}.{spelled(collection)}")
    rows = sorted({(name.dataset,) for name in inside})
    return _answer("show", ("Table",), rows, tokens, session.write)


def describe(text: str, catalog: Catalog, session: Session) -> Rewritten:
    """The answer to ``DESCRIBE <table>``: its columns, as ``SHOW COLUMNS`` gives them."""
    return _columns("describe", _Tokens(text, session.read), catalog, session, like=False)


def _columns(
    kind: StatementKind,
    tokens: _Tokens,
    catalog: Catalog,
    session: Session,
    *,
    like: bool = True,
) -> Rewritten:
    parts = tokens.name()
    pattern = tokens.like() if like else None
    tokens.end()
    if len(parts) > 3:
        raise _unreadable()
    node = exp.Table(this=parts[-1], db=_nth(parts, -2), catalog=_nth(parts, -3))
    table = resolve(catalog, node, session.default_catalog, session.default_schema)
    if not session.may_see(table.name):
        raise _not_visible("table", table.name.dataset_id)
    rows = [(column.name, trino_type(column.type), "", "") for column in table.columns]
    sql = listing(COLUMN_HEADERS, rows, pattern).sql(dialect=session.write)
    return Rewritten(kind, sql, (table.name,), {})


def trino_type(duckdb_type: str) -> str:
    """A column type as Trino spells it (``VARCHAR`` → ``varchar``).

    >>> trino_type("DECIMAL(10,2)")
    'decimal(10,2)'
    """
    try:
        built = exp.DataType.build(duckdb_type, dialect="duckdb")
    except (ParseError, ValueError):
        return duckdb_type.lower()
    return built.sql("trino").lower().replace(", ", ",")


def _nth(parts: Sequence[exp.Identifier], index: int) -> exp.Identifier | None:
    return parts[index] if len(parts) >= -index else None


def _only_part(parts: list[exp.Identifier]) -> exp.Identifier:
    if len(parts) != 1:
        raise _unreadable()
    return parts[0]


def _default(name: str | None, what: str) -> exp.Identifier:
    if name is None:
        raise Refused(f"the session has no default {what}", f"name the {what}: {SHOW_FORMS}")
    return exp.Identifier(this=name, quoted=False)


def _matches(written: exp.Identifier, stored: str) -> bool:
    return spelled(written) == fold(stored)


def _not_visible(what: str, name: str) -> Refused:
    return Refused(
        f"{what} '{name}' does not exist or is not visible",
        "SHOW CATALOGS, SHOW SCHEMAS and SHOW TABLES list what you may read",
    )


def _answer(
    kind: StatementKind,
    headers: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    tokens: _Tokens,
    write: str,
    *,
    like: bool = True,
) -> Rewritten:
    pattern = tokens.like() if like else None
    tokens.end()
    return Rewritten(kind, listing(headers, rows, pattern).sql(dialect=write), (), {})


def listing(
    headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], like: _Like | None = None
) -> exp.Select:
    """``SELECT <headers> FROM (VALUES <rows>) ORDER BY <row order>``, all VARCHAR; a typed
    empty result when there are no rows. ``like`` filters on the first column."""
    if not rows:
        empty = [
            exp.alias_(exp.cast(exp.null(), "VARCHAR"), header, quoted=True) for header in headers
        ]
        return exp.Select(expressions=empty, where=exp.Where(this=exp.false()))
    columns = [exp.column(header, quoted=True) for header in headers]
    values = exp.Values(
        expressions=[
            exp.Tuple(expressions=[exp.Literal.number(n), *map(exp.Literal.string, row)])
            for n, row in enumerate(rows, 1)
        ],
        alias=exp.TableAlias(
            this=exp.to_identifier("listing"),
            columns=[exp.to_identifier("n"), *(c.this.copy() for c in columns)],
        ),
    )
    select = exp.Select(expressions=columns, from_=exp.From(this=values))
    if like is not None:
        matched: exp.Expression = exp.Like(
            this=columns[0].copy(), expression=exp.Literal.string(like.pattern)
        )
        if like.escape is not None:
            matched = exp.Escape(this=matched, expression=exp.Literal.string(like.escape))
        select.set("where", exp.Where(this=matched))
    select.set("order", exp.Order(expressions=[exp.Ordered(this=exp.column("n"))]))
    return select
