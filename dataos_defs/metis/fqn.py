"""Fully qualified names, as OpenMetadata builds them: the parent's FQN, ``.``, the name.

A name holding a ``.`` is quoted (``"a.b"``); a name holding a ``"`` is refused, as
OpenMetadata's ``quoteName`` refuses it (the ingestion client replaces quotes in table and
column names with a reserved token before it builds a name). So every FQN splits back
into exactly the names it was built from.

>>> join(["shop", "public", "order.items"])
'shop.public."order.items"'
>>> split('shop.public."order.items"')
['shop', 'public', 'order.items']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SEPARATOR = "."
MAX_NAME_LENGTH = 256
MAX_FQN_LENGTH = 3072
_PART = re.compile(r'"([^"]+)"|([^."]+)')


class InvalidName(ValueError):
    """A name or FQN OpenMetadata would refuse."""


def quote(name: str) -> str:
    """The name as it appears inside an FQN."""
    check_name(name)
    return f'"{name}"' if SEPARATOR in name else name


def check_name(name: str) -> None:
    if not name:
        raise InvalidName("a name cannot be empty")
    if '"' in name:
        raise InvalidName(f"the name {name!r} holds a double quote, which names cannot hold")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"a name is at most {MAX_NAME_LENGTH} characters long")


def join(names: Sequence[str]) -> str:
    """The FQN of ``names``, outermost first."""
    if not names:
        raise InvalidName("an FQN needs at least one name")
    fqn = SEPARATOR.join(quote(name) for name in names)
    if len(fqn) > MAX_FQN_LENGTH:
        raise InvalidName(f"a fully qualified name is at most {MAX_FQN_LENGTH} characters long")
    return fqn


def child(parent_fqn: str, name: str) -> str:
    return join([*split(parent_fqn), name])


def split(fqn: str) -> list[str]:
    """The names of an FQN, unquoted; raises :class:`InvalidName` for a malformed one."""
    names: list[str] = []
    position = 0
    while True:
        match = _PART.match(fqn, position)
        if match is None:
            raise InvalidName(f"malformed fully qualified name {fqn!r} at character {position}")
        names.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
        if position == len(fqn):
            return names
        if fqn[position] != SEPARATOR:
            raise InvalidName(f"malformed fully qualified name {fqn!r} at character {position}")
        position += 1


def parent(fqn: str) -> str | None:
    names = split(fqn)
    return join(names[:-1]) if len(names) > 1 else None
