"""The ``dataos-ctl`` console script: Tab completion and ``-h`` first, Typer otherwise.

A completion request (``_DATAOS_CTL_COMPLETE`` set by the shell's completion function)
and a plain ``dataos-ctl [COMMAND...] -h`` are answered by
:mod:`dataos_defs.cli.fast_completion` before any command module is imported; only what
it does not model reaches Typer.
"""

from __future__ import annotations

import os
import sys

from dataos_defs.cli.fast_completion import COMPLETE_VAR, HELP_FLAGS, usage


def run() -> None:
    if os.environ.get(COMPLETE_VAR, "").startswith("complete_"):
        from dataos_defs.cli import fast_completion

        if fast_completion.main():
            return
    elif sys.argv[-1] in HELP_FLAGS:
        text = usage(sys.argv[1:])
        if text is not None:
            print(text)
            return
    from dataos_defs.cli.main import run as run_app

    run_app()
