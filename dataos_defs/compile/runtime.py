"""What runs inside a job's op: find the stack's executor, call it, turn its results into
Dagster events; and the retry policy derived from ``retry``.

DataOS retries follow Argo's strategies; Dagster's ``RetryPolicy`` retries any exception
an op raises, and an op can veto a retry by raising ``Failure(allow_retries=False)``:

- ``Always``, ``OnFailure`` (default) and ``OnError``: every failure of the executor is
  retried. (Argo's ``OnError`` means errors of the platform rather than of the job; from
  inside the op both look alike, so it behaves like ``OnFailure``.)
- ``OnTransientError``: only :class:`TransientError`, ``ConnectionError`` and
  ``TimeoutError`` are retried; any other failure is final.

``duration`` becomes a constant delay between attempts; ``maxDuration`` (Argo's cap on
exponential backoff) has no Dagster equivalent and is only kept in metadata.
A missing executor is a configuration error and is never retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    RetryPolicy,
)

from dataos_defs.compile.context import (
    CheckOutput,
    JobContext,
    StackExecutor,
    StackOutput,
    TransientError,
)
from dataos_defs.manifest.common import Retry

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TransientError, ConnectionError, TimeoutError)


def duration_seconds(text: str | None) -> float | None:
    """``30s``, ``1m30s``, ``2h`` or a plain number of seconds; None when unreadable.

    >>> duration_seconds("1m30s"), duration_seconds("45"), duration_seconds("soon")
    (90.0, 45.0, None)
    """
    if not text:
        return None
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def retry_policy(retry: Retry) -> RetryPolicy | None:
    if retry.count <= 0:
        return None
    return RetryPolicy(max_retries=retry.count, delay=duration_seconds(retry.duration))


def _retryable(retry: Retry, exc: BaseException) -> bool:
    if retry.strategy == "OnTransientError":
        return isinstance(exc, TRANSIENT_ERRORS)
    return True


def _where(job: JobContext) -> str:
    return f"job '{job.job}' of workflow '{job.workflow}' (workspace '{job.workspace}')"


def _executor(job: JobContext, executors: Mapping[str, StackExecutor]) -> StackExecutor:
    executor = executors.get(job.stack)
    if executor is None:
        known = ", ".join(sorted(executors)) or "none"
        raise Failure(
            description=(
                f"no executor for stack '{job.stack}' ({_where(job)}); "
                f"stacks with an executor here: {known}"
            ),
            allow_retries=False,
        )
    return executor


def run_job(
    context: AssetExecutionContext, job: JobContext, executors: Mapping[str, StackExecutor]
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """Call the executor and report every output and check, in the order they come."""
    executor = _executor(job, executors)
    expected = set(job.outputs)
    checks = {(c.asset_key, c.name) for c in job.checks}
    done: set[AssetKey] = set()
    checked: set[tuple[AssetKey, str]] = set()
    try:
        for item in executor(context, job):
            if isinstance(item, CheckOutput):
                _known(job, (item.asset_key, item.check_name) in checks, item)
                checked.add((item.asset_key, item.check_name))
                yield AssetCheckResult(
                    asset_key=item.asset_key,
                    check_name=item.check_name,
                    passed=item.passed,
                    metadata=dict(item.metadata),
                    severity=AssetCheckSeverity(item.severity),
                )
            else:
                _known(job, item.asset_key in expected, item)
                done.add(item.asset_key)
                yield MaterializeResult(asset_key=item.asset_key, metadata=dict(item.metadata))
    except Failure:
        raise
    except Exception as exc:
        if _retryable(job.retry, exc):
            raise
        raise Failure(
            description=f"{_where(job)} failed: {exc} (not retried: strategy {job.retry.strategy})",
            allow_retries=False,
        ) from exc
    yield from _rest(job, expected - done, checks - checked)


def _known(job: JobContext, known: bool, item: StackOutput | CheckOutput) -> None:
    if not known:
        raise Failure(
            description=f"the {job.stack} executor reported {item!r}, which {_where(job)} "
            "does not declare",
            allow_retries=False,
        )


def _rest(
    job: JobContext, missing: set[AssetKey], unchecked: set[tuple[AssetKey, str]]
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """Outputs and checks the executor did not report.

    A job's own ``dataos/...`` key is materialized when the executor returns; so are the
    outputs of a dry run (marked as such). A real run that skips a declared dataset fails.
    """
    if missing and not (job.marker or job.dry_run):
        names = ", ".join(sorted(k.to_user_string() for k in missing))
        raise Failure(description=f"{_where(job)} did not write {names}", allow_retries=False)
    for key in sorted(missing, key=lambda k: tuple(k.path)):
        yield MaterializeResult(asset_key=key, metadata={"dataos/dry_run": job.dry_run})
    for key, name in sorted(unchecked, key=lambda c: (tuple(c[0].path), c[1])):
        yield AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=False,
            metadata={"dataos/reason": "the executor did not evaluate this check"},
        )
