"""Incremental inputs: ``$|key|`` values carried from one run of a job to the next.

Flare's semantics: the dataset is first exposed as the view ``context``; every key's ``sql``
is evaluated on it (``SELECT max(updated_at) FROM incrinput``); ``incremental.sql`` then
reads the slice between the keys. ``state[{key, value}]`` says what the *next* run starts
from: after a successful run, key ``key`` is saved with this run's value of key ``value``
(or ``value`` itself when it names no key), and a saved key is used instead of evaluating
its ``sql``. Saved values live in ``<state_dir>/<job>/state.json``, one mapping per input.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from dataos_defs.manifest.stacks.flare_parts import Incremental
from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.flare.sql import substitute

STATE_FILE = "state.json"

StateMap = dict[str, dict[str, str]]


def state_path(state_dir: Path, job: str) -> Path:
    return state_dir / job / STATE_FILE


def load_state(state_dir: Path, job: str) -> StateMap:
    path = state_path(state_dir, job)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FlareError(f"state of job '{job}'", f"cannot read {path}: {exc}") from None
    inputs = data.get("inputs", {}) if isinstance(data, dict) else {}
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in inputs.items()}


def save_state(state_dir: Path, job: str, state: Mapping[str, Mapping[str, str]]) -> None:
    """Write atomically: a crash mid-write must not lose the previous state."""
    path = state_path(state_dir, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"inputs": state}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
    os.replace(tmp, path)


def key_values(
    spec: Incremental,
    saved: Mapping[str, str],
    evaluate: Callable[[str, str], object],
    where: str,
) -> dict[str, str]:
    """This run's value of every key: the saved one for keys carried in ``state``, else the
    result of the key's ``sql`` (which may use keys defined before it)."""
    carried = {item.key for item in spec.state or []}
    values: dict[str, str] = {}
    for key in spec.keys or []:
        if key.name in carried and key.name in saved:
            values[key.name] = saved[key.name]
            continue
        query = substitute(key.sql, values, f"{where}, key '{key.name}'")
        result = evaluate(query, f"{where}, key '{key.name}'")
        values[key.name] = "" if result is None else str(result)
    for name in carried - values.keys():
        if name in saved:
            values[name] = saved[name]
    return values


def next_state(spec: Incremental, values: Mapping[str, str]) -> dict[str, str]:
    """What the next run starts from, given this run's key values."""
    return {item.key: values.get(item.value, item.value) for item in spec.state or []}
