"""How every command group of ``dataos-ctl`` is made, so that all behave alike.

``-h`` is ``--help`` everywhere (DataOS' first instruction is ``dataos-ctl -h``), and help
is Click's plain text: Rich's help renderer would cost more than the whole rest of
``dataos-ctl --help``, which must stay instant (it also runs on every Tab completion).
"""

from __future__ import annotations

from typing import Any

import typer

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def command_group(**settings: Any) -> typer.Typer:
    return typer.Typer(context_settings=HELP_OPTIONS, rich_markup_mode=None, **settings)
