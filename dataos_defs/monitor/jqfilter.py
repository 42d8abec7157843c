"""``valueJqFilter``: jq programs (the ``jq`` package, libjq itself), run with bounds.

A filter is compiled once per text (an LRU cache) in the caller, so a syntax error is
reported at once with jq's message. It runs in a separate worker process
(:mod:`dataos_defs.monitor.jq_worker`, a fresh interpreter kept between evaluations),
because libjq cannot be interrupted from Python: a filter that loops (``repeat(1)``) or
grows without end (``[range(1e9)]``) is stopped by killing the worker after
:data:`TIMEOUT_S`, and its memory is capped by the worker's address-space limit. The input
is refused over :data:`MAX_INPUT_BYTES` of JSON; at most ``jq_worker.MAX_OUTPUTS`` results
and ``jq_worker.MAX_OUTPUT_BYTES`` of JSON come back. A new worker replaces a killed one
(its start, about 0.1 s, is not counted in the filter's time).
"""

from __future__ import annotations

import atexit
import functools
import json
import selectors
import subprocess
import sys
import threading
import time
from typing import IO, Any

import jq

MAX_FILTER_CHARS = 4096
MAX_INPUT_BYTES = 1024 * 1024
TIMEOUT_S = 2.0
START_TIMEOUT_S = 30.0
WORKER = "dataos_defs.monitor.jq_worker"
_lock = threading.Lock()
_workers: list[subprocess.Popen[bytes]] = []


class JqError(ValueError):
    """A filter that does not compile, fails, or exceeds a bound: what, where, a hint."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} ({hint})")
        self.message = message
        self.hint = hint


@functools.lru_cache(maxsize=256)
def compiled(text: str) -> Any:
    """The compiled program of ``text``; raises :class:`JqError` with jq's message."""
    if len(text) > MAX_FILTER_CHARS:
        raise JqError(
            f"the jq filter is {len(text)} characters long", f"at most {MAX_FILTER_CHARS}"
        )
    try:
        return jq.compile(text)
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0]
        raise JqError(
            f"jq filter '{text}' does not compile: {first}", "see https://jqlang.org/manual/"
        ) from None


def run(text: str, value: Any) -> list[Any]:
    """The results of filter ``text`` on ``value`` (bounded, see the module docstring)."""
    compiled(text)
    document = json.dumps(value, default=str)
    if len(document.encode()) > MAX_INPUT_BYTES:
        raise JqError(
            f"the input of jq filter '{text}' is {len(document.encode())} bytes of JSON",
            f"at most {MAX_INPUT_BYTES}: select fewer Resources",
        )
    request = json.dumps({"filter": text, "input": document}).encode() + b"\n"
    with _lock:
        worker = _worker()
        try:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(request)
            worker.stdin.flush()
            status, payload = _answer(worker.stdout, TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            _stop()
            late = isinstance(exc, TimeoutError)
            raise JqError(
                f"jq filter '{text}' "
                + (f"ran longer than {TIMEOUT_S} s and was stopped" if late else "crashed"),
                "simplify the filter",
            ) from None
    if status == "error":
        raise JqError(f"jq filter '{text}' failed: {payload}", "check the filter on the input")
    results: list[Any] = json.loads(payload)
    return results


def _worker() -> subprocess.Popen[bytes]:
    if _workers and _workers[0].poll() is None:
        return _workers[0]
    _workers.clear()
    worker = subprocess.Popen(
        [sys.executable, "-I", "-m", WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    _workers.append(worker)
    assert worker.stdout is not None
    try:
        _answer(worker.stdout, START_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError):
        _stop()
        raise JqError("the jq worker did not start", "check the platform's Python") from None
    return worker


def _answer(stream: IO[bytes], seconds: float) -> tuple[str, str]:
    """One line of the worker, within ``seconds``; raises TimeoutError, or ValueError when
    the worker died (end of stream)."""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(max(0.0, deadline - time.monotonic())):
            raise TimeoutError
    line = stream.readline()
    if not line:
        raise ValueError("the jq worker ended")
    status, payload = json.loads(line)
    return str(status), str(payload)


@atexit.register
def _stop() -> None:
    for worker in _workers:
        worker.kill()
        worker.wait()
    _workers.clear()
