"""Browser tests: headless Debian Chromium driven by Playwright against the real platform.

The Dagster helpers (``dagster_support``) live beside the Dagster tests; their folder is put
on ``sys.path`` here so ``from dagster_support import ...`` works whatever runs first. The
platform as ``make up`` runs it, for a browser, is ``browser_support.door_platform``.
Screenshots a test records with ``record_property("screenshot", path)`` are listed at the
end of the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

DAGSTER_TESTS = Path(__file__).resolve().parents[1] / "dagster"
if str(DAGSTER_TESTS) not in sys.path:
    sys.path.insert(0, str(DAGSTER_TESTS))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    shots = [
        (report.nodeid, value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
        if name == "screenshot"
    ]
    if shots:
        terminalreporter.section("browser screenshots")
        for nodeid, path in shots:
            terminalreporter.write_line(f"{nodeid}: {path}")
