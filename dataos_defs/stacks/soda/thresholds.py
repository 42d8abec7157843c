"""Pass, warn or fail: a metric value against a check's thresholds, in SodaCL's two forms.

An inline threshold (``missing_count(email) = 0``) says what a *passing* value looks like
and fails the check otherwise. ``warn: when > 5`` / ``fail: when > 10`` say when a value
*triggers* that level. A check fails when any fail level triggers, else warns when a warn
level triggers, else passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dataos_defs.manifest.stacks.soda import CheckConfig
from dataos_defs.manifest.stacks.sodacl import ParsedCheck, Threshold, parse_threshold
from dataos_defs.stacks.soda.model import Outcome, Severity


@dataclass(frozen=True)
class Level:
    severity: Severity
    threshold: Threshold
    expected: bool
    """True for an inline threshold (what passes), False for a ``when`` (what triggers)."""

    def triggered(self, value: float) -> bool:
        return holds(self.threshold, value) != self.expected

    def render(self) -> str:
        text = render(self.threshold)
        return f"expected {text}" if self.expected else f"{self.severity} when {text}"


def levels(
    parsed: ParsedCheck, config: CheckConfig | None, default: str | None = None
) -> list[Level]:
    """The check's levels; ``default`` (e.g. ``= 0``) applies when it declares none."""
    out = []
    if parsed.threshold is not None:
        out.append(Level("fail", parsed.threshold, True))
    duration = parsed.metric == "freshness"
    for severity in ("warn", "fail"):
        when = getattr(config, severity, None) if config is not None else None
        if isinstance(when, str):
            text = " ".join(when.split()).removeprefix("when ")
            out.append(Level(severity, parse_threshold(text, duration=duration), False))
    if not out and default is not None:
        out.append(Level("fail", parse_threshold(default), True))
    return out


def holds(threshold: Threshold, value: float) -> bool:
    op, bounds = threshold.op, threshold.values
    if op in ("between", "not between"):
        inside = bounds[0] <= value <= bounds[1] or _same(value, bounds[0], bounds[1])
        return inside if op == "between" else not inside
    bound = bounds[0]
    equal = _same(value, bound)
    if op == "=":
        return equal
    if op in ("!=", "<>"):
        return not equal
    if op == "<":
        return value < bound and not equal
    if op == "<=":
        return value <= bound or equal
    if op == ">":
        return value > bound and not equal
    return value >= bound or equal


def _same(value: float, *bounds: float) -> bool:
    """Equality with a little tolerance: percentages and averages are floats."""
    return any(math.isclose(value, b, rel_tol=1e-9, abs_tol=1e-9) for b in bounds)


def judge(found: list[Level], value: float) -> tuple[Outcome, Severity]:
    """The outcome, and the severity that goes with it (see ``CheckResult.severity``)."""
    triggered = {level.severity for level in found if level.triggered(value)}
    if "fail" in triggered:
        return "fail", "fail"
    if "warn" in triggered:
        return "warn", "warn"
    return "pass", highest(found)


def highest(found: list[Level]) -> Severity:
    return "fail" if any(level.severity == "fail" for level in found) or not found else "warn"


def render(threshold: Threshold) -> str:
    """``= 0``, ``< 5%``, ``between 10 and 1000``, ``< 1d``."""
    values = [fmt(v, threshold.unit) for v in threshold.values]
    if threshold.op in ("between", "not between"):
        return f"{threshold.op} {values[0]} and {values[1]}"
    return f"{threshold.op} {values[0]}"


def render_levels(found: list[Level]) -> str:
    return "; ".join(level.render() for level in found)


def fmt(value: float | None, unit: str | None = None) -> str:
    """A number as a person writes it: ``3``, ``33.33``, ``5%``, ``1d 2h``."""
    if value is None:
        return "NULL"
    if unit == "seconds":
        return duration(value)
    text = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return text + ("%" if unit == "%" else "")


def duration(seconds: float) -> str:
    sign, rest = ("-" if seconds < 0 else ""), round(abs(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + (" ".join(parts) or "0s")
