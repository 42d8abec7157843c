"""The jq worker process: one JSON request per line on stdin, one answer per line on stdout.

Started by :mod:`dataos_defs.monitor.jqfilter` as ``python -I -m dataos_defs.monitor.jq_worker``
(a fresh interpreter, so nothing of the parent's main module runs here); it limits its own
address space first, then answers ``{"filter", "input"}`` with ``["ok", results JSON]`` or
``["error", message]`` until stdin closes. The parent kills it when an answer is late.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jq

MAX_OUTPUTS = 1000
MAX_OUTPUT_BYTES = 256 * 1024
MEMORY_BYTES = 1024 * 1024 * 1024
READY = "ready"


def evaluate(text: str, document: str) -> tuple[str, str]:
    """("ok", JSON list of results) or ("error", message), within the output bounds."""
    results: list[Any] = []
    size = 2
    try:
        for result in jq.compile(text).input_text(document):
            size += len(json.dumps(result)) + 1
            if len(results) >= MAX_OUTPUTS or size > MAX_OUTPUT_BYTES:
                return (
                    "error",
                    f"more than {MAX_OUTPUTS} results or {MAX_OUTPUT_BYTES} bytes of them",
                )
            results.append(result)
    except (ValueError, MemoryError) as exc:
        message = str(exc).strip().splitlines()
        return "error", message[0] if message else type(exc).__name__
    return "ok", json.dumps(results)


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        return


def main() -> None:
    _limit_memory()
    print(json.dumps([READY, ""]), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(evaluate(request["filter"], request["input"])), flush=True)


if __name__ == "__main__":
    main()
