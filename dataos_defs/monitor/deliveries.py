"""Delivering pagers in the background: a bounded queue, a few workers, retries with backoff.

``submit`` never blocks: a job goes into a queue of :data:`QUEUE_SIZE`; when it is full
the job is dropped, logged (a ``dropped`` record and a warning) and counted. A worker
evaluates the pager's conditions and templates (in a bounded child: ``pagers_eval``),
then sends each output, retrying a connection error, a timeout, a 5xx or a 429 up to
``attempts`` times with exponential backoff and jitter (the delay before attempt ``n+1``
is ``min(cap, base * 2**(n-1))`` times a factor drawn in [0.5, 1], or longer when a 429 or
503 says ``Retry-After``: that many seconds, at most ``cap``, since a worker waits on this
thread); a 4xx, a refused
target, a missing secret or a refused template is not retried. Every attempt is one
record of the delivery log, without secrets.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dataos_defs.manifest.pager import Pager
from dataos_defs.monitor.deliveries_log import DeliveryLog, record
from dataos_defs.monitor.deliveries_outputs import (
    Attempt,
    Context,
    OutputRefused,
    attempts_of,
    templates_of,
)
from dataos_defs.monitor.deliveries_secrets import SecretSource, SecretUnavailable, scrub
from dataos_defs.monitor.deliveries_send import Sent
from dataos_defs.monitor.deliveries_targets import TargetRefused
from dataos_defs.monitor.pagers_eval import Check, Evaluation, EvaluationFailed, evaluate_bounded

QUEUE_SIZE = 1000
WORKERS = 2
log = logging.getLogger(__name__)
Evaluator = Callable[[Evaluation], Any]


@dataclass(frozen=True)
class Backoff:
    attempts: int = 5
    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int, draw: float, asked: float | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based); ``draw`` is in [0, 1);
        ``asked``: the target's ``Retry-After``, honoured up to ``cap``."""
        backoff = min(self.cap, self.base * 2 ** (attempt - 1)) * (0.5 + draw / 2)
        return backoff if asked is None else max(backoff, min(self.cap, asked))


@dataclass(frozen=True)
class Job:
    workspace: str
    pager: Pager
    incident: Mapping[str, Any]
    delivery_id: str

    @property
    def pager_id(self) -> str:
        return f"{self.workspace}/{self.pager.name}"

    @property
    def incident_id(self) -> str:
        found = self.incident.get("id") or self.incident.get("name") or "unknown"
        return str(found)[:200]


class Deliverer:
    """The queue and workers of one process."""

    def __init__(
        self,
        delivery_log: DeliveryLog,
        secrets: SecretSource,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        evaluate: Evaluator = evaluate_bounded,
        queue_size: int = QUEUE_SIZE,
        workers: int = WORKERS,
    ) -> None:
        self.log = delivery_log
        self.secrets = secrets
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._draw = draw
        self._evaluate = evaluate
        self._queue: queue.Queue[Job | None] = queue.Queue(queue_size)
        self.dropped = 0
        self._workers = [
            threading.Thread(target=self._run, name=f"pager-delivery-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, workspace: str, pager: Pager, incident: Mapping[str, Any]) -> bool:
        """Queue a delivery; False (and a ``dropped`` record) when the queue is full."""
        job = Job(workspace, pager, dict(incident), uuid.uuid4().hex)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.dropped += 1
            log.warning(
                "pager delivery queue full (%d): dropped %s for incident %s",
                self._queue.maxsize,
                job.pager_id,
                job.incident_id,
            )
            self._write(job, "all", "-", 0, "dropped", error="the delivery queue was full")
            return False
        return True

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job is done (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        for _ in self._workers:
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                break
        for worker in self._workers:
            worker.join(timeout)
        self.log.close()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self.deliver(job)
            except Exception:  # a worker outlives any one job
                log.exception("pager delivery failed unexpectedly")
            finally:
                self._queue.task_done()

    def deliver(self, job: Job) -> None:
        """Evaluate ``job`` and send each output with retries (on this thread)."""
        conditions = [
            Check(c.valueJqFilter, c.operator, c.value) for c in job.pager.pager.conditions
        ]
        evaluation = Evaluation(job.incident, conditions, templates_of(job.pager))
        try:
            evaluated = self._evaluate(evaluation)
        except EvaluationFailed as exc:
            self._write(job, "conditions", "-", 1, "failed", error=str(exc))
            return
        if "conditions" in evaluated.errors:
            self._write(job, "conditions", "-", 1, "failed", error=evaluated.errors["conditions"])
            return
        if not evaluated.matched:
            return
        for kind, attempt in attempts_of(job.pager).items():
            if kind in evaluated.errors:
                self._write(job, kind, "-", 1, "refused", error=evaluated.errors[kind])
                continue
            context = Context(job.workspace, job.incident, evaluated.bodies, self.secrets)
            self._with_retries(job, kind, attempt, context)

    def _with_retries(self, job: Job, kind: str, attempt: Attempt, context: Context) -> None:
        for number in range(1, self.backoff.attempts + 1):
            target, sent = self._once(attempt, context)
            last = number == self.backoff.attempts
            if sent.ok:
                outcome = "delivered"
            elif sent.status is None and not sent.retryable and target == "-":
                outcome = "refused"
            else:
                outcome = "retrying" if sent.retryable and not last else "failed"
            error = None if sent.error is None else scrub(sent.error, context.used)
            self._write(job, kind, target, number, outcome, sent.status, error)
            if outcome != "retrying":
                return
            self._sleep(self.backoff.delay(number, self._draw(), sent.retry_after))

    @staticmethod
    def _once(attempt: Attempt, context: Context) -> tuple[str, Sent]:
        try:
            return attempt(context)
        except (TargetRefused, SecretUnavailable, OutputRefused) as exc:
            return "-", Sent(False, False, None, str(exc))
        except Exception as exc:  # any store or vault error: fail closed, retry later
            return "-", Sent(False, True, None, f"could not prepare: {type(exc).__name__}")

    def _write(
        self,
        job: Job,
        output: str,
        target: str,
        attempt: int,
        outcome: str,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        entry = record(
            job.delivery_id,
            job.pager_id,
            job.incident_id,
            output,
            target,
            attempt,
            outcome,
            status,
            error,
        )
        self.log.append(entry)
