"""Every command of ``dataos-ctl`` answers ``-h``, and every option says what it is for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dataos_defs.cli import apply, delete, get, resource, runtime
from dataos_defs.cli.main import app


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_dash_h_shows_the_help_of_every_command(path: tuple[str, ...], command: Any) -> None:
    shown = CliRunner().invoke(app, [*path, "-h"])
    assert shown.exit_code == 0, shown.output
    assert "Usage:" in shown.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_and_argument_has_a_description(path: tuple[str, ...], command: Any) -> None:
    bare = [p.opts for p in command.params if not getattr(p, "help", None)]
    assert not bare, f"dataos-ctl {' '.join(path)}: no help for {bare}"


def test_the_resource_group_registers_the_top_level_functions() -> None:
    callbacks = {info.name: info.callback for info in resource.app.registered_commands}
    assert callbacks == {
        "apply": apply.apply,
        "update": apply.apply,
        "delete": delete.delete,
        "log": runtime.log,
    }
    groups = {info.name: info.typer_instance for info in resource.app.registered_groups}
    assert groups == {"get": get.app, "runtime": runtime.app}
