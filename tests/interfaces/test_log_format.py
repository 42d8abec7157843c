"""``dataos-ctl log`` output: the event log's errors made readable, bounded, without blanks.

The pure parts, from Dagster's GraphQL answer to printed lines: ``dagster_events`` (parse
an event, pick the user-facing cause, excerpt its stack), ``api.run_logs`` (the lines the
API answers) and ``cli.output`` (times, header, indented details). The same path on a real
Dagster run is ``tests/dagster/test_log_failures.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.adapters.dagster_events import (
    ErrorInfo,
    parse_event,
    stack_excerpt,
    text_excerpt,
    user_cause,
)
from dataos_defs.api.run_logs import first_failure, log_line, log_lines
from dataos_defs.cli.output import format_log, log_time
from dataos_defs.location.executors import (
    SQL_EXCERPT_LINES,
    SQL_EXCERPT_WIDTH,
    failed_step_message,
)

STEP = "public__orders__clean"
NODES = {STEP: "clean"}
WRAPPER_STACK = [
    '  File "/venv/dagster/_core/execution/plan/utils.py", line 57, in op_execution_error_boundary\n'
    "    yield\n",
    '  File "/venv/dagster/_utils/__init__.py", line 392, in iterate_with_context\n'
    "    next_output = next(iterator)\n",
]
CAUSE_STACK = [
    '  File "/app/dataos_defs/compile/runtime.py", line 107, in run_job\n'
    "    for item in executor(context, job):\n",
    '  File "/app/dataos_defs/location/executors.py", line 84, in run_flare\n'
    "    result = run_flare_job(\n",
    '  File "/app/dataos_defs/stacks/flare/runner.py", line 91, in run_flare_job\n'
    "    views[item.name] = _run_step(con, item, sql_dir or Path.cwd())\n",
    '  File "/app/dataos_defs/stacks/flare/runner.py", line 190, in _run_step\n'
    "    return _create_view(con, item, text, where)\n",
    '  File "/app/dataos_defs/stacks/flare/runner.py", line 229, in _describe\n'
    '    raise FlareError(where, f"DuckDB rejected the SQL: {exc}\\n({context})") from None\n'
    "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
]
BINDER = 'Binder Error: Table "p" does not have a column named "nonexistent_col"'
CAUSE_MESSAGE = (
    f"dataos_defs.stacks.flare.model.FlareError: step 'clean': DuckDB rejected the SQL: "
    f"{BINDER}\n\nLINE 1: SELECT p.nonexistent_col FROM p\n(read as spark, run as: SELECT 1)\n"
)


def failure_event() -> dict[str, Any]:
    """A step failure as Dagster 1.13 answers it in ``logsForRun``."""
    return {
        "__typename": "ExecutionStepFailureEvent",
        "message": f'Execution of step "{STEP}" failed.',
        "timestamp": "1796655845123",
        "level": "ERROR",
        "stepKey": STEP,
        "error": {
            "className": "DagsterExecutionStepExecutionError",
            "message": "dagster._core.errors.DagsterExecutionStepExecutionError: Error "
            f'occurred while executing op "{STEP}":\n',
            "stack": WRAPPER_STACK,
            "errorChain": [
                {
                    "isExplicitLink": True,
                    "error": {
                        "className": "FlareError",
                        "message": CAUSE_MESSAGE,
                        "stack": CAUSE_STACK,
                    },
                }
            ],
        },
    }


def materialization_event() -> dict[str, Any]:
    return {
        "__typename": "MaterializationEvent",
        "message": "Materialized value lake shop books.",
        "timestamp": "1796655844000",
        "level": "DEBUG",
        "stepKey": STEP,
        "assetKey": {"path": ["lake", "shop", "books"]},
        "metadataEntries": [
            {"__typename": "TextMetadataEntry", "label": "dataos/output", "text": "books"},
            {
                "__typename": "TextMetadataEntry",
                "label": "dataos/udl",
                "text": "dataos://lake:shop/books",
            },
            {"__typename": "IntMetadataEntry", "label": "dagster/row_count", "intRepr": "2"},
            {"__typename": "TableSchemaMetadataEntry", "label": "dagster/column_schema"},
        ],
    }


@pytest.fixture
def berlin_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is Europe/Berlin (UTC+1 in December)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_step_failure_parses_with_its_chain() -> None:
    event = parse_event(failure_event())
    assert event is not None
    assert event.kind == "ExecutionStepFailureEvent"
    assert [e.class_name for e in event.errors] == [
        "DagsterExecutionStepExecutionError",
        "FlareError",
    ]
    assert event.errors[1].text.startswith("step 'clean': DuckDB rejected the SQL: Binder")


def test_events_without_a_message_are_skipped() -> None:
    assert parse_event({"__typename": "MissingRunIdErrorEvent", "invalidRunId": "x"}) is None


def test_the_cause_is_the_end_of_the_explicit_chain() -> None:
    outer, middle, inner = (ErrorInfo(n, n) for n in ("Outer", "Middle", "Inner"))
    assert user_cause([outer, middle, inner]) == inner
    handled = ErrorInfo("Handled", "Handled", explicit=False)
    assert user_cause([outer, middle, handled]) == middle
    assert user_cause([outer]) == outer
    assert user_cause([]) is None


def test_the_message_loses_only_the_class_prefix() -> None:
    assert ErrorInfo("ValueError", "builtins.ValueError: bad: worse\n").text == "bad: worse"
    assert ErrorInfo("KeyError", "KeyError: 'k'").text == "'k'"
    assert ErrorInfo("Failure", "no prefix: here").text == "no prefix: here"


def test_the_api_line_of_a_failure_carries_the_cause_and_its_inner_frames() -> None:
    event = parse_event(failure_event())
    assert event is not None
    line = log_line(event, NODES)
    assert line["time"] == "2026-12-07T15:04:05.123+00:00"
    assert line["node"] == "clean"
    assert line["error"]["class"] == "FlareError"
    assert BINDER in line["error"]["message"]
    stack = line["error"]["stack"]
    assert stack[-2:] == [
        'File "/app/dataos_defs/stacks/flare/runner.py", line 229, in _describe',
        '  raise FlareError(where, f"DuckDB rejected the SQL: {exc}\\n({context})") from None',
    ]
    assert not any("dagster/_core" in text for text in stack)
    assert not any("compile/runtime.py" in text for text in stack)
    assert line["rows"] is None


def test_the_api_line_of_a_materialization_carries_its_rows() -> None:
    event = parse_event(materialization_event())
    assert event is not None
    assert log_line(event, NODES)["rows"] == {
        "output": "books",
        "dataset": "dataos://lake:shop/books",
        "rows": 2,
    }
    assert log_line(event, NODES)["error"] is None


def test_the_run_failure_does_not_repeat_the_cause_a_step_showed() -> None:
    step = failure_event()
    run = {**failure_event(), "__typename": "RunFailureEvent", "stepKey": None}
    run["message"] = 'Execution of run for "public__orders" failed.'
    enqueued = {**materialization_event(), "__typename": "RunEnqueuedEvent", "message": ""}
    events = [parse_event(e) for e in (enqueued, step, run)]
    lines = log_lines([e for e in events if e is not None], NODES)
    assert lines[0]["message"] == "run enqueued"
    assert lines[1]["error"]["class"] == "FlareError"
    assert lines[2]["error"] is None
    alone = parse_event(run)
    assert alone is not None
    assert log_lines([alone], NODES)[0]["error"]["class"] == "FlareError"


def test_the_first_failure_names_the_job_and_the_first_line_of_its_cause() -> None:
    events = [parse_event(e) for e in (materialization_event(), failure_event())]
    failure = first_failure([e for e in events if e is not None], NODES)
    assert failure == {
        "node": "clean",
        "class": "FlareError",
        "message": f"step 'clean': DuckDB rejected the SQL: {BINDER}",
    }
    assert first_failure([e for e in events[:1] if e is not None], NODES) is None


def test_the_printed_log_leads_with_the_failure_and_has_no_empty_line() -> None:
    events = [parse_event(e) for e in (materialization_event(), failure_event())]
    kept = [e for e in events if e is not None]
    body = {"failure": first_failure(kept, NODES), "lines": [log_line(e, NODES) for e in kept]}
    printed = format_log(body, utc=True)
    assert printed[0] == f"job clean failed: step 'clean': DuckDB rejected the SQL: {BINDER}"
    assert printed[1] == ("2026-12-07 15:04:04 DEBUG   [clean] Materialized value lake shop books.")
    assert printed[2] == "    output 'books' (dataos://lake:shop/books): 2 rows written"
    assert printed[3] == f'2026-12-07 15:04:05 ERROR   [clean] Execution of step "{STEP}" failed.'
    assert printed[4] == f"    FlareError: step 'clean': DuckDB rejected the SQL: {BINDER}"
    assert "        LINE 1: SELECT p.nonexistent_col FROM p" in printed
    assert "    stack (innermost last):" in printed
    assert printed[-1].strip().startswith("raise FlareError(")
    assert all(text.strip() for text in printed)


def test_times_are_local_unless_utc_is_asked(berlin_time: None) -> None:
    assert log_time("2026-12-07T15:04:05.123+00:00") == "2026-12-07 16:04:05"
    assert log_time("2026-12-07T15:04:05.123+00:00", utc=True) == "2026-12-07 15:04:05"
    assert log_time("1796655845123", utc=True) == "2026-12-07 15:04:05"
    assert log_time("not a time") == "not a time"


frame_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
frames = st.lists(
    st.builds(lambda a, b: f"  File {a!r}, line 1, in f\n    {b}\n", frame_text, frame_text),
    max_size=12,
)


@given(frames, st.integers(0, 8), st.integers(1, 300), st.integers(0, 3000))
def test_a_stack_excerpt_is_bounded(stack: list[str], count: int, width: int, limit: int) -> None:
    excerpt = stack_excerpt(stack, frames=count, width=width, limit=limit)
    assert all(len(line) <= width for line in excerpt)
    assert sum(len(line) for line in excerpt) <= limit
    assert all(line.strip() for line in excerpt)
    shown = stack[-count:] if count else []
    assert len(excerpt) <= sum(len(frame.splitlines()) for frame in shown)


code_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=80
).filter(str.strip)


@given(st.lists(st.tuples(code_text, code_text), min_size=1, max_size=12))
def test_the_innermost_frames_are_kept_when_they_fit(calls: list[tuple[str, str]]) -> None:
    stack = [f"  File {where!r}, line 1, in f\n    {code.strip()}\n" for where, code in calls]
    excerpt = stack_excerpt(stack, frames=2, width=10_000, limit=10_000)
    expected = [
        text
        for where, code in calls[-2:]
        for text in (f"File {where!r}, line 1, in f", f"  {code.strip()}")
    ]
    assert excerpt == expected


text_block = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(
    text_block,
    st.one_of(st.none(), st.tuples(text_block, st.lists(text_block, max_size=4))),
    st.sampled_from(["2026-12-07T15:04:05+00:00", "1796655845000", "garbage"]),
)
def test_no_printed_line_is_empty(
    message: str, error: tuple[str, list[str]] | None, stamp: str
) -> None:
    line = {
        "time": stamp,
        "level": "ERROR",
        "node": "clean",
        "message": message,
        "error": {"class": "E", "message": error[0], "stack": error[1]} if error else None,
        "rows": None,
    }
    printed = format_log({"failure": None, "lines": [line]}, utc=True)
    assert all(text.strip() for text in printed)
    for part in message.splitlines()[1:]:
        if part.strip():
            assert any(text.endswith(part.rstrip()) for text in printed)


@given(st.lists(text_block, max_size=120))
def test_the_failed_sql_step_message_is_bounded_and_has_no_empty_line(sql: list[str]) -> None:
    message = failed_step_message("clean", "\n".join(sql))
    head, *shown = message.split("\n")
    assert head == "SQL step 'clean' failed; its SQL:"
    assert len(shown) <= SQL_EXCERPT_LINES + 1
    assert all(text.strip() and len(text) <= SQL_EXCERPT_WIDTH for text in shown)


@given(text_block, st.integers(1, 30), st.integers(4, 5000))
def test_an_error_message_excerpt_is_bounded(message: str, lines: int, limit: int) -> None:
    excerpt = text_excerpt(message, lines, limit)
    body, _, note = excerpt.rpartition("\n... (")
    kept = body if note.endswith(" more lines)") else excerpt
    assert len(kept) <= limit
    assert len(kept.splitlines()) <= lines
    assert all(text.strip() for text in excerpt.splitlines())


def test_a_long_cause_is_cut_in_the_api_line_and_the_header() -> None:
    event = failure_event()
    cause = event["error"]["errorChain"][0]["error"]
    cause["message"] = "FlareError: " + "x" * 900 + "\n" + "\n".join(f"row {n}" for n in range(50))
    parsed = parse_event(event)
    assert parsed is not None
    line = log_line(parsed, NODES)
    assert len(line["error"]["message"].splitlines()) == 21
    assert line["error"]["message"].endswith("... (31 more lines)")
    failure = first_failure([parsed], NODES)
    assert failure is not None
    assert len(failure["message"]) == 500
