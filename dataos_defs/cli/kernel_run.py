"""The processes behind ``dataos-ctl kernel``: the CDKTF app and the ``terraform`` binary.

Synthesis runs ``terraform/main.py`` in a child interpreter (the one running the CLI): loading
the provider bindings costs seconds and a gigabyte, which the CLI process never pays, and the
child's stderr (jsii, constructs) reaches the user as it is written. Terraform runs once per
stack in dependency order, its output streamed unchanged, and the first failure stops the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dataos_defs.cli.output import err_console, fail

APP_ENV = "DATAOS_KERNEL_APP"
TERRAFORM_ENV = "DATAOS_TERRAFORM"
# Tried in this order when neither --binary nor DATAOS_TERRAFORM names one.
BINARIES = ("terraform", "tofu")
# No exit code of terraform itself: "not found" is told apart from a failed plan.
MISSING_BINARY_EXIT = 2
INSTALL_HINT = (
    "install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install, or "
    "'apt install terraform' from HashiCorp's apt repository https://apt.releases.hashicorp.com) "
    "or OpenTofu (https://opentofu.org/docs/intro/install/, then --binary tofu); "
    f"--binary or {TERRAFORM_ENV} names a binary that is not on PATH"
)


@dataclass(frozen=True)
class Synthesized:
    """What the app wrote: the stack names in dependency order and the folder holding them."""

    stacks: tuple[str, ...]
    outdir: Path

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack


def locate_app(given: Path | None) -> Path:
    """The CDKTF app's folder: ``--app``, else ``DATAOS_KERNEL_APP``, else ``./terraform``,
    else the ``terraform/`` of the checkout the package was installed from (editable install)."""
    explicit = given or (Path(os.environ[APP_ENV]) if os.environ.get(APP_ENV) else None)
    candidates = (
        [explicit]
        if explicit is not None
        else [Path("terraform"), Path(__file__).resolve().parents[2] / "terraform"]
    )
    found = next((c for c in candidates if (c / "main.py").is_file()), None)
    if found is None:
        looked = ", ".join(str(c) for c in candidates)
        fail(
            f"cannot find the cloud kernel app (main.py) in {looked}",
            "run from the repository checkout or give --app DIR (the folder holding main.py)",
        )
    return found.resolve()


def synthesize(app: Path, model_file: Path, outdir: Path) -> Synthesized:
    """Run ``main.py --model MODEL --out DIR``; its stdout's last line is
    ``{"stacks": [...], "outdir": ...}``, other lines are passed on to stderr."""
    command = [
        sys.executable,
        str(app / "main.py"),
        "--model",
        str(model_file),
        "--out",
        str(outdir),
    ]
    done = subprocess.run(
        command,
        cwd=app,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    for line in lines[:-1]:
        err_console.print(line, markup=False)
    if done.returncode != 0:
        if lines:
            err_console.print(lines[-1], markup=False)
        fail(f"synthesis failed: {app / 'main.py'} exited with {done.returncode}")
    try:
        answer = json.loads(lines[-1])
        stacks = tuple(str(name) for name in answer["stacks"])
    except (IndexError, ValueError, KeyError, TypeError):
        fail(f"synthesis printed no stack list: {done.stdout[-200:]!r}")
    return Synthesized(stacks, Path(answer.get("outdir") or outdir))


def find_terraform(binary: str | None) -> str:
    """The path of ``--binary``, else of ``DATAOS_TERRAFORM``, else of terraform or tofu on
    PATH; ends the command with exit 2 and how to install one when there is none."""
    named = binary or os.environ.get(TERRAFORM_ENV)
    found = next(filter(None, map(shutil.which, (named,) if named else BINARIES)), None)
    if found is None:
        looked = named or " or ".join(BINARIES)
        fail(f"no {looked} binary found on PATH", INSTALL_HINT, code=MISSING_BINARY_EXIT)
    return found


def select_stacks(synthesized: Synthesized, only: list[str] | None) -> list[str]:
    """The stacks to run, always in dependency order; an unknown name ends the command."""
    if not only:
        return list(synthesized.stacks)
    unknown = sorted(set(only) - set(synthesized.stacks))
    if unknown:
        fail(
            f"no stack {', '.join(unknown)} in this synthesis",
            f"stacks: {', '.join(synthesized.stacks)}",
        )
    return [stack for stack in synthesized.stacks if stack in only]


def terraform_steps(action: str, auto_approve: bool) -> list[list[str]]:
    """The terraform calls per stack: init, then plan or apply. Apply keeps terraform's own
    confirmation prompt (so no ``-input=false``) unless ``--auto-approve``."""
    init = ["init", "-input=false"]
    if action == "plan":
        return [init, ["plan", "-input=false"]]
    return [init, ["apply", "-input=false", "-auto-approve"] if auto_approve else ["apply"]]


def run_stacks(
    terraform: str, synthesized: Synthesized, stacks: list[str], steps: list[list[str]]
) -> None:
    """Each step in each stack, in order, output streamed; the first failure ends the
    command with terraform's exit code."""
    for stack in stacks:
        folder = synthesized.stack_dir(stack)
        for step in steps:
            err_console.print(f"==> {stack}: {Path(terraform).name} {step[0]}", markup=False)
            code = _run_to_the_end([terraform, f"-chdir={folder}", *step])
            if code != 0:
                fail(f"terraform {step[0]} failed in stack {stack} (exit {code})", code=code)


def _run_to_the_end(command: list[str]) -> int:
    """Run ``command`` and wait for it even through Ctrl-C: the terminal sends the interrupt
    to terraform as well, which then stops gracefully (releasing its state lock and writing
    its state); killing it, as ``subprocess.run`` does on an interrupt, could lose that."""
    with subprocess.Popen(command) as child:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                err_console.print("interrupted: waiting for terraform to stop", markup=False)
