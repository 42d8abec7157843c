"""``apply --wait``: follow the server's background reconciliation until each workflow is done.

The apply's answer lists the workflows that stay ``pending`` until the server has reconciled
Dagster with them. This polls them (one listing per workspace and poll) until each leaves
``pending``, or is left ``pending`` by a finished reconciliation (its reason begins with
``not deployed yet:``), showing the server's progress: one line rewritten in place on a
terminal, a line per change of phase otherwise (logs, CI). Then it prints each workflow's
final status; the caller exits non-zero unless all are ``active``.

A Bundle is applied by the server in the background, member after member: ``apply``
follows each applied bundle (:func:`follow_bundles`), printing each member's progress as it
happens, and exits non-zero unless every bundle ends ``active``.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console

from dataos_defs.api.client import DataosClient
from dataos_defs.api.wire import NOT_DEPLOYED

POLL_S = 1.0
HEARTBEAT_S = 30.0
"""Without a terminal, a line at least this often even when nothing changes."""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_SECONDS = re.compile(r"\d+ s\)$")

Key = tuple[str, str | None]
"""A workflow: (name, workspace)."""


@dataclass
class Waited:
    """How the wait ended: each workflow's last state, and whether the time ran out."""

    states: dict[Key, tuple[str, str | None]]
    timed_out: bool

    def unfinished(self) -> list[Key]:
        return [key for key, state in self.states.items() if not finished(*state)]


def finished(status: str, reason: str | None) -> bool:
    """A workflow's reconciliation is over: not ``pending``, or left pending for good."""
    return status != "pending" or (reason or "").startswith(NOT_DEPLOYED)


def label(key: Key) -> str:
    return f"{key[0]} ({key[1]})" if key[1] else key[0]


class Display:
    """Progress on ``stream``: a line redrawn in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._last = ""
        self._last_at = 0.0
        self._frame = 0

    def show(self, text: str, elapsed: float) -> None:
        if self.live:
            self._frame += 1
            line = f"{SPINNER[self._frame % len(SPINNER)]} {text} [{int(elapsed)} s]"
            self.stream.write("\r\x1b[2K" + line[: _width() - 1])
            self.stream.flush()
            return
        steady = _SECONDS.sub("s)", text)  # a new second of the same phase is no news
        now = time.monotonic()
        if steady != self._last or now - self._last_at >= HEARTBEAT_S:
            self.stream.write(f"[{int(elapsed)} s] {text}\n")
            self.stream.flush()
            self._last, self._last_at = steady, now

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def summary(states: Mapping[Key, tuple[str, str | None]]) -> str:
    """One line: what the workflows still waited for are doing."""
    waiting = [(key, state) for key, state in states.items() if not finished(*state)]
    if not waiting:
        return "reconciled"
    key, (_, reason) = waiting[0]
    doing = reason or "waiting for reconciliation to start"
    if len(states) == 1:
        return f"{label(key)}: {doing}"
    done = len(states) - len(waiting)
    return f"{done}/{len(states)} workflows reconciled; {label(key)}: {doing}"


def poll(client: DataosClient, keys: Sequence[Key]) -> dict[Key, tuple[str, str | None]]:
    """The status and reason of each workflow of ``keys`` (``deleted`` when gone)."""
    states: dict[Key, tuple[str, str | None]] = {}
    for workspace in sorted({ws for _, ws in keys}, key=lambda ws: ws or ""):
        listed = client.list_resources("workflow", workspace, None)
        found = {(item["name"], item["workspace"]): item for item in listed}
        for key in keys:
            if key[1] == workspace:
                item = found.get(key)
                states[key] = (
                    (item["status"], item.get("status_reason")) if item else ("deleted", None)
                )
    return states


def wait_for(
    client: DataosClient,
    keys: Sequence[Key],
    timeout: float,
    display: Display,
    clock: Callable[[], float] = time.monotonic,
) -> Waited:
    """Poll ``keys`` until each one's reconciliation is over, or ``timeout`` seconds pass."""
    started = clock()
    states = poll(client, keys)
    try:
        while True:
            elapsed = clock() - started
            if not Waited(states, False).unfinished():
                return Waited(states, False)
            if elapsed >= timeout:
                return Waited(states, True)
            display.show(summary(states), elapsed)
            time.sleep(min(POLL_S, max(0.0, timeout - elapsed)))
            states = poll(client, keys)
    finally:
        display.close()


def describe(state: tuple[str, str | None]) -> str:
    status, reason = state
    return f"{status}: {reason}" if reason and status != "active" else status


def report(
    waited: Waited, versions: Mapping[Key, str], timeout: float, out: Console, err: Console
) -> bool:
    """Print each workflow's final state (``out``) and what went wrong (``err``, a console);
    True when all are ``active``."""
    for key, state in waited.states.items():
        where = f"({key[1]})" if key[1] else ""
        ident = f"{key[0]}:{versions.get(key, '?')}:workflow"
        out.print(f"reconciled{where} {ident}...{describe(state)}", markup=False)
    failed = [key for key, (status, _) in waited.states.items() if status != "active"]
    if waited.timed_out:
        still = ", ".join(label(key) for key in waited.unfinished())
        err.print(
            f"error: timed out after {timeout:g} s waiting for the reconciliation of {still}",
            markup=False,
        )
        err.print(
            "hint: the server keeps reconciling in the background; follow it with "
            "'dataos-ctl get -t workflow -n NAME -o yaml' (status_reason), or wait longer "
            "with --timeout",
            markup=False,
        )
    elif failed:
        count = len(failed)
        err.print(
            f"error: {count} workflow{'s' if count != 1 else ''} not active: "
            + "; ".join(f"{label(key)}: {describe(waited.states[key])}" for key in failed),
            markup=False,
        )
    return not failed and not waited.timed_out


def stderr_display() -> Display:
    return Display(sys.stderr)


BUNDLE_DONE = ("active", "error")
_APPLIED = ("created", "updated", "unchanged", "applied")


def bundle_state(client: DataosClient, name: str) -> dict[str, Any]:
    """``GET /poros/api/v1/bundles/{name}``: the bundle's status and its members' progress."""
    found: dict[str, Any] = client.request("GET", f"/poros/api/v1/bundles/{name}")
    return found


def follow_bundles(
    client: DataosClient, actions: Mapping[str, str], timeout: float, out: Console, err: Console
) -> bool:
    """Print each member's progress as the server applies the bundles of ``actions`` (name
    -> the apply's action; a line per change: waiting on what, then created, updated or
    unchanged), then each bundle's outcome; True when every bundle ends ``active``. An
    unchanged bundle already ``active`` was left alone: its members are not shown."""
    started = time.monotonic()
    shown: dict[tuple[str, str], tuple[str, str]] = {}
    names = list(actions)
    states = {name: bundle_state(client, name) for name in names}
    quiet = {n for n in names if actions[n] == "unchanged" and states[n]["status"] == "active"}
    while True:
        for name, state in states.items():
            if name not in quiet:
                _print_members(name, state, shown, out, err)
        if all(s["status"] in BUNDLE_DONE for s in states.values()):
            break
        if time.monotonic() - started >= timeout:
            still = ", ".join(n for n, s in states.items() if s["status"] not in BUNDLE_DONE)
            err.print(
                f"error: timed out after {timeout:g} s following bundle {still}", markup=False
            )
            err.print(
                "hint: the server keeps applying it; follow it with 'dataos-ctl get -t bundle "
                "-n NAME' (status_reason), or wait longer with --timeout",
                markup=False,
            )
            return False
        time.sleep(POLL_S)
        states = {name: bundle_state(client, name) for name in names}
    ok = True
    for name, state in states.items():
        if state["status"] == "active":
            out.print(f"bundle {name}...active", markup=False)
        else:
            ok = False
            err.print(f"error: bundle {name}: {state.get('status_reason')}", markup=False)
    return ok


def _print_members(
    bundle: str,
    state: dict[str, Any],
    shown: dict[tuple[str, str], tuple[str, str]],
    out: Console,
    err: Console,
) -> None:
    for member in state.get("members") or []:
        detail = _SECONDS.sub("s)", member.get("detail") or "")
        now = (member["state"], detail)
        key = (bundle, member["id"])
        if shown.get(key) == now or member["state"] in ("queued", "applying", "absent"):
            continue
        shown[key] = now
        where = f"({member['workspace']})" if member.get("workspace") else ""
        ident = f"{member['name']}:{member['type']}"
        if member["state"] in _APPLIED:
            out.print(
                f"applying{where} {ident}...{member['state']} (bundle {bundle}: {member['id']})",
                markup=False,
            )
        elif member["state"] == "waiting":
            err.print(f"bundle {bundle}: {member['id']} waiting on {detail}", markup=False)
