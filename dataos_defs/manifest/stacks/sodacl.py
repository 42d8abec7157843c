"""A small grammar for SodaCL check texts, parsed into dataclasses a compiler can use.

>>> parse_check("row_count between 10 and 1000").threshold
Threshold(op='between', values=(10.0, 1000.0), unit=None)
>>> parse_check("missing_count(email) = 0").columns
('email',)
>>> parse_check("freshness(updated_at) < 1d").threshold
Threshold(op='<', values=(86400.0,), unit='seconds')
>>> parse_check("values in (city) must exist in cities (name)").other_table
'cities'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from dataos_defs.manifest.stacks._fields import suggestion

CheckKind = Literal["metric", "schema", "failed_rows", "reference", "same_as"]

_ONE = (1, 1)
_MANY = (1, 99)
METRIC_ARITY: dict[str, tuple[int, int]] = {
    "row_count": (0, 0),
    "missing_count": _ONE,
    "missing_percent": _ONE,
    "invalid_count": _ONE,
    "invalid_percent": _ONE,
    "duplicate_count": _MANY,
    "duplicate_percent": _MANY,
    "freshness": _ONE,
    "min": _ONE,
    "max": _ONE,
    "avg": _ONE,
    "sum": _ONE,
    "stddev": _ONE,
    "stddev_pop": _ONE,
    "stddev_samp": _ONE,
    "variance": _ONE,
    "var_pop": _ONE,
    "var_samp": _ONE,
    "min_length": _ONE,
    "max_length": _ONE,
    "avg_length": _ONE,
    "percentile": (2, 2),
}
"""Built-in metrics and how many arguments (columns) each takes."""

_NUMBER = r"-?\d+(?:\.\d+)?"
_VALUE = rf"(?:{_NUMBER}\s*%?|(?:\d+[dhms])+)"
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_COMPARISON = re.compile(rf"^(?P<op><=|>=|!=|<>|=|<|>)\s*(?P<value>{_VALUE})$")
_BETWEEN = re.compile(
    rf"^(?P<neg>not\s+)?between\s*\(?\s*(?P<low>{_VALUE})\s+and\s+(?P<high>{_VALUE})\s*\)?$"
)
_METRIC = re.compile(
    r"^(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<args>[^)]*)\))?\s*(?P<rest>.*)$"
)
_SAME_AS = re.compile(r"^same\s+as\s+(?P<table>[\w.]+)(?:\s+in\s+[\w.]+)?$")
_REFERENCE = re.compile(
    r"^values\s+in\s*\((?P<cols>[^)]*)\)\s+must\s+(?P<neg>not\s+)?exist\s+in\s+"
    r"(?P<table>[\w.]+)\s*\((?P<other>[^)]*)\)$"
)
_DURATION = re.compile(r"^(?:\d+[dhms])+$")
_DURATION_PART = re.compile(r"(\d+)([dhms])")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Threshold:
    """``op`` is a comparator, ``between`` or ``not between``; durations are in seconds."""

    op: str
    values: tuple[float, ...]
    unit: Literal["%", "seconds"] | None = None


@dataclass(frozen=True)
class ParsedCheck:
    """One SodaCL check text; ``threshold`` is None when ``warn``/``fail`` carry it."""

    text: str
    kind: CheckKind
    metric: str | None = None
    columns: tuple[str, ...] = ()
    argument: float | None = None
    threshold: Threshold | None = None
    other_table: str | None = None
    other_columns: tuple[str, ...] = ()
    negated: bool = False

    @property
    def user_defined(self) -> bool:
        """A metric of the user's own, defined by a ``<metric> query|expression`` key."""
        return self.kind == "metric" and self.metric not in METRIC_ARITY


@lru_cache(maxsize=4096)
def parse_check(text: str) -> ParsedCheck:
    """Parse a check; raises ``ValueError`` saying what is wrong (cached: texts repeat)."""
    clean = " ".join(text.split())
    if clean == "schema":
        return ParsedCheck(text, "schema")
    if clean == "failed rows":
        return ParsedCheck(text, "failed_rows")
    if clean.startswith("values in"):
        return _reference(text, clean)
    match = _METRIC.match(clean)
    if not match:
        raise ValueError(f"'{text}' is not a SodaCL check: expected 'metric[(column)] <op> value'")
    metric, args, rest = match.group("metric"), match.group("args"), match.group("rest")
    if metric not in METRIC_ARITY and args is not None:
        hint = suggestion(metric, METRIC_ARITY)
        raise ValueError(f"unknown SodaCL metric '{metric}'" + (f"; {hint}" if hint else ""))
    columns, argument = _arguments(metric, args)
    same_as = _SAME_AS.match(rest)
    if same_as:
        if metric != "row_count":
            raise ValueError("'same as' compares row counts: write 'row_count same as <dataset>'")
        return ParsedCheck(text, "same_as", metric, other_table=same_as.group("table"))
    threshold = parse_threshold(rest, duration=metric == "freshness") if rest else None
    return ParsedCheck(text, "metric", metric, columns, argument, threshold)


def parse_threshold(text: str, *, duration: bool = False) -> Threshold:
    """``< 5``, ``= 0``, ``< 10%``, ``between 1 and 9``, ``< 1d`` (``duration`` for freshness)."""
    between = _BETWEEN.match(text)
    if between:
        op = "not between" if between.group("neg") else "between"
        low, high = (_value(between.group(g), duration) for g in ("low", "high"))
        if low[0] > high[0]:
            raise ValueError(f"'{text}': the lower bound is above the upper bound")
        return Threshold(op, (low[0], high[0]), low[1] or high[1])
    match = _COMPARISON.match(text)
    if not match:
        raise ValueError(
            f"'{text}' is not a comparison: expected one of {', '.join(_OPS)} and a value, "
            "or 'between A and B'"
        )
    value, unit = _value(match.group("value"), duration)
    return Threshold(match.group("op"), (value,), unit)


def _value(text: str, duration: bool) -> tuple[float, Literal["%", "seconds"] | None]:
    text = text.replace(" ", "")
    if _DURATION.match(text):
        if not duration:
            raise ValueError(f"'{text}' is a duration; only freshness checks compare durations")
        return float(sum(int(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(text))), "seconds"
    if duration:
        raise ValueError(f"freshness compares a duration such as 1d, 12h or 30m, not '{text}'")
    if text.endswith("%"):
        return float(text[:-1]), "%"
    return float(text), None


def _arguments(metric: str, args: str | None) -> tuple[tuple[str, ...], float | None]:
    parts = [a.strip().strip("\"'`") for a in args.split(",")] if args else []
    if any(not p for p in parts):
        raise ValueError(f"{metric}(...) has an empty argument")
    low, high = METRIC_ARITY.get(metric, (0, 0))
    if not low <= len(parts) <= high:
        wanted = "no column" if high == 0 else ("one column" if high == 1 else f"{low}-{high}")
        if metric == "percentile":
            wanted = "a column and a fraction, e.g. percentile(price, 0.95)"
        raise ValueError(f"{metric} takes {wanted}, got {len(parts)}")
    if metric == "percentile":
        try:
            return (parts[0],), float(parts[1])
        except ValueError:
            raise ValueError(
                f"percentile needs a fraction as second argument, not '{parts[1]}'"
            ) from None
    return tuple(parts), None


def _reference(text: str, clean: str) -> ParsedCheck:
    match = _REFERENCE.match(clean)
    if not match:
        raise ValueError(
            f"'{text}' is not a reference check: expected "
            "'values in (col) must exist in <dataset> (col)'"
        )
    columns = tuple(c.strip() for c in match.group("cols").split(",") if c.strip())
    other = tuple(c.strip() for c in match.group("other").split(",") if c.strip())
    if not columns or len(columns) != len(other):
        raise ValueError("a reference check compares as many columns on each side (at least one)")
    return ParsedCheck(
        text,
        "reference",
        None,
        columns,
        other_table=match.group("table"),
        other_columns=other,
        negated=bool(match.group("neg")),
    )
