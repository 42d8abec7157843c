"""The ``get`` table says why a Resource is pending or in error, within a row's width."""

from __future__ import annotations

from dataos_defs.cli.get import STATUS_WIDTH, _status


def test_pending_shows_reconciliation_progress() -> None:
    reason = "waiting for Dagster to load the code location (10,000 jobs, 34 s)"
    assert _status({"status": "pending", "status_reason": reason}) == f"pending: {reason}"


def test_a_long_error_is_cut_to_the_width_and_says_so() -> None:
    shown = _status({"status": "error", "status_reason": "x" * 500})
    assert len(shown) == STATUS_WIDTH and shown.startswith("error: x") and shown.endswith("…")


def test_active_and_reasonless_statuses_are_plain() -> None:
    assert _status({"status": "active", "status_reason": "stale text"}) == "active"
    assert _status({"status": "pending", "status_reason": None}) == "pending"
    assert _status({"status": "error"}) == "error"
