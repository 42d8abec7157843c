"""Regular expressions of ``regex_replace`` masks as the query engine runs them (RE2).

Policies are written for Trino (Java regexes) and validated here with Python's ``re``; the
embedded engine, DuckDB, runs them with RE2, which lacks several constructs both of those
accept. ``re2_problem`` names the first such construct of a pattern Python already accepts,
with its position, so a policy that could not run is refused when it is applied, not on
every query. ``re2_replacement`` translates Trino's replacement syntax to RE2's, refusing
what Trino would reject or RE2 cannot express. The Gateway uses both (``masks.py``), so the
rule lives here once.
"""

from __future__ import annotations

import re

MAX_RE2_GROUP = 9
"""RE2 replacements insert groups ``\\0`` to ``\\9`` only."""
MAX_RE2_REPEAT = 1000
"""RE2 refuses a counted repetition, or nested ones multiplied, above this."""
_GROUP_OPENERS = (
    ("(?<=", "a lookbehind '(?<='"),
    ("(?<!", "a negative lookbehind '(?<!'"),
    ("(?=", "a lookahead '(?='"),
    ("(?!", "a negative lookahead '(?!'"),
    ("(?>", "an atomic group '(?>'"),
    ("(?#", "a comment '(?#'"),
    ("(?(", "a conditional '(?('"),
    ("(?P=", "a named backreference '(?P='"),
)
_RE2_FLAGS = frozenset("ims-")
_ESCAPES = {
    "Z": "'\\Z' (use '$')",
    "u": "a '\\u' escape (write the character itself)",
    "U": "a '\\U' escape (write the character itself)",
    "N": "a '\\N{...}' escape (write the character itself)",
}
_REPEAT = re.compile(r"\{(\d*)(,?)(\d*)\}")
_OCTAL = re.compile(r"[0-7]{3}")


def re2_problem(pattern: str) -> str | None:
    """The first construct of ``pattern`` (valid for Python's ``re``) RE2 cannot run, with
    its position, or None.

    >>> re2_problem("[0-9](?=.{4})")
    "a lookahead '(?=' at position 5"
    >>> re2_problem(r"(\\d+)-\\1")
    "a backreference '\\\\1' at position 6"
    >>> re2_problem(r"^\\d{3}-(\\d{2})$")
    """
    scan = _Scan(pattern)
    try:
        scan.run()
    except _Unsupported as found:
        return f"{found.what} at position {found.position}"
    return None


class _Unsupported(Exception):
    def __init__(self, what: str, position: int) -> None:
        super().__init__(what)
        self.what = what
        self.position = position


class _Scan:
    """One left-to-right pass over a pattern: groups, escapes, classes and repetitions."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.index = 0
        self.frames: list[int] = [1]
        """Per open group: the largest repetition product inside it so far."""
        self.last = 1
        """The repetition product of the atom just read (a group's: its inside's)."""

    def run(self) -> None:
        text = self.pattern
        while self.index < len(text):
            char = text[self.index]
            if char == "\\":
                self._escape(in_class=False)
            elif char == "[":
                self._class()
            elif char == "(":
                self._open()
            elif char == ")":
                self._close()
            elif char in "*+?":
                self._quantifier(self.index + 1)
            elif char == "{" and (repeat := _REPEAT.match(text, self.index)):
                self._counted(repeat)
            else:
                self.last = 1
                self.index += 1

    def _escape(self, *, in_class: bool) -> None:
        start = self.index
        following = self.pattern[start + 1 : start + 2]
        if following in _ESCAPES:
            raise _Unsupported(_ESCAPES[following], start)
        if following and following in "123456789":
            if not _OCTAL.match(self.pattern, start + 1):
                what = "the escape" if in_class else "a backreference"
                raise _Unsupported(f"{what} '\\{following}'", start)
            self.index = start + 4
            self.last = 1
            return
        if in_class and following == "b":
            raise _Unsupported("'\\b' inside a character class", start)
        self.index = start + 2
        self.last = 1

    def _class(self) -> None:
        text = self.pattern
        self.index += 1
        if text.startswith("^", self.index):
            self.index += 1
        if text.startswith("]", self.index):
            self.index += 1
        while self.index < len(text) and text[self.index] != "]":
            if text[self.index] == "\\":
                self._escape(in_class=True)
            elif text.startswith("[:", self.index):
                raise _Unsupported(
                    "'[:' inside a character class (RE2 reads a POSIX class there)", self.index
                )
            else:
                self.index += 1
        self.index += 1
        self.last = 1

    def _open(self) -> None:
        text, start = self.pattern, self.index
        for opener, what in _GROUP_OPENERS:
            if text.startswith(opener, start):
                raise _Unsupported(what, start)
        if text.startswith("(?", start) and not text.startswith(("(?:", "(?P<"), start):
            end = start + 2
            while end < len(text) and text[end] not in ":)":
                if text[end] not in _RE2_FLAGS:
                    raise _Unsupported(f"the flag '{text[end]}'", end)
                end += 1
        self.frames.append(1)
        self.index += 1

    def _close(self) -> None:
        inside = self.frames.pop() if len(self.frames) > 1 else 1
        self.last = inside
        self.frames[-1] = max(self.frames[-1], inside)
        self.index += 1

    def _quantifier(self, after: int) -> None:
        if self.pattern.startswith("+", after):
            raise _Unsupported(
                f"a possessive quantifier '{self.pattern[self.index : after + 1]}'", self.index
            )
        self.index = after + 1 if self.pattern.startswith("?", after) else after
        self.last = 1

    def _counted(self, repeat: re.Match[str]) -> None:
        low, comma, high = repeat.groups()
        if not low and (comma or not high):
            if comma:
                raise _Unsupported(
                    f"the repetition '{repeat.group()}' (RE2 reads it as text; write "
                    f"'{{0,{high}}}')",
                    self.index,
                )
            self.index = repeat.end()
            return
        bound = int(high or low)
        product = self.last * bound
        if bound > MAX_RE2_REPEAT or product > MAX_RE2_REPEAT:
            raise _Unsupported(
                f"the repetition '{repeat.group()}' (RE2 repeats at most {MAX_RE2_REPEAT} "
                "times, nested repetitions multiplied)",
                self.index,
            )
        self.frames[-1] = max(self.frames[-1], product)
        self.last = product
        end = repeat.end()
        if self.pattern.startswith("+", end):
            raise _Unsupported(f"a possessive quantifier '{repeat.group()}+'", self.index)
        self.index = end + 1 if self.pattern.startswith("?", end) else end


def re2_replacement(pattern: str, replacement: str) -> str:
    """Trino's replacement syntax translated for RE2; ValueError for what Trino would
    reject or RE2 cannot express.

    Trino: ``$n`` and ``${name}`` insert a group (``$12`` is group 12 if the pattern has
    that many groups, else group 1 followed by ``2``), ``\\x`` is a literal ``x``, anything
    else is literal. RE2: ``\\n`` inserts group n (0-9), ``\\\\`` is a backslash, ``$`` is
    literal.

    >>> print(re2_replacement("(a)(b)", "$2$1 \\\\$ \\\\\\\\"))
    \\2\\1 $ \\\\
    """
    compiled = re.compile(pattern)
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "$":
            group, index = _group_reference(replacement, index + 1, compiled)
            if group > MAX_RE2_GROUP:
                raise _bad_replacement(
                    replacement, f"the query engine cannot insert group {group} (0-9)"
                )
            out.append(f"\\{group}")
            continue
        if char == "\\":
            if index + 1 == len(replacement):
                raise _bad_replacement(replacement, "it ends with a lone '\\'")
            index += 1
            char = replacement[index]
        out.append("\\\\" if char == "\\" else char)
        index += 1
    return "".join(out)


def _group_reference(text: str, index: int, pattern: re.Pattern[str]) -> tuple[int, int]:
    """The group a ``$`` reference at ``text[index - 1]`` names, and where the text goes on."""
    if index == len(text):
        raise _bad_replacement(text, "it ends with a lone '$'")
    if text[index] == "{":
        end = text.find("}", index)
        name = text[index + 1 : end if end >= 0 else len(text)]
        if name not in pattern.groupindex:
            raise _bad_replacement(text, f"the pattern has no group named {name!r}")
        return pattern.groupindex[name], (end + 1 if end >= 0 else len(text))
    if not text[index].isascii() or not text[index].isdigit():
        raise _bad_replacement(text, "'$' must be followed by a group number or {name}")
    group = int(text[index])
    if group > pattern.groups:
        raise _bad_replacement(text, f"the pattern has no group {group}")
    index += 1
    while index < len(text) and text[index].isascii() and text[index].isdigit():
        longer = group * 10 + int(text[index])
        if longer > pattern.groups:
            break
        group, index = longer, index + 1
    return group, index


def _bad_replacement(replacement: str, problem: str) -> ValueError:
    return ValueError(
        f"the regex_replace replacement {replacement!r} is not valid: {problem} (write "
        "groups as $1 or ${name}, and a literal '$' or '\\' as '\\$' or '\\\\')"
    )
