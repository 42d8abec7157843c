"""``dataos-ctl kernel synth|plan|apply``: the cloud kernel from the platform's desired state.

The desired state is the Compute, Service and Bundle Resources and the workspaces, read from
manifests (``-f``, as ``apply`` reads them) or from the running platform through the API; with
``terraform/kernel.yaml`` it becomes the kernel model (:mod:`dataos_defs.kernel`), which the
CDKTF app in ``terraform/`` synthesizes into one Terraform stack folder per stack. ``plan`` and
``apply`` then run ``terraform`` in those folders, in dependency order. Heavy imports (pydantic
models, subprocess plumbing) wait until a command runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import console, err_console

if TYPE_CHECKING:
    from dataos_defs.cli.kernel_run import Synthesized

app = command_group(
    help="The cloud kernel: synthesize, plan and apply the platform's cloud infrastructure "
    "(CDKTF app in terraform/) from Compute, Service and Bundle Resources and workspaces.",
    no_args_is_help=True,
)


class Cloud(StrEnum):
    aws = "aws"
    gcp = "gcp"
    azure = "azure"


CloudOpt = Annotated[
    Cloud, typer.Option("--cloud", help="the cloud to build for", show_default=False)
]
FilesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "-f",
        "--manifestFile",
        help="manifest file or folder (as for apply); without -f the desired state is read "
        "from the running platform through the API (DATAOS_API_URL)",
    ),
]
RecursiveOpt = Annotated[
    bool, typer.Option("-R", "--recursive", help="also read the folders inside the folders given")
]
SettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="the kernel settings file (region, versions, pool sizes, DNS, state backend); "
        "default: kernel.yaml of the app (terraform/kernel.yaml)",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--out",
        help="folder for model.json and the stacks; default $DATAOS_HOME/kernel/CLOUD "
        "(.dataos/kernel/CLOUD); never wiped, the stacks are rewritten in place",
    ),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "-w", "--workspace", help="with -f: workspace of Services without one (default public)"
    ),
]
AppOpt = Annotated[
    Path | None,
    typer.Option(
        "--app",
        help="the CDKTF app's folder (holding main.py); default ./terraform, else the "
        "checkout dataos-ctl was installed from (or DATAOS_KERNEL_APP)",
    ),
]
BinaryOpt = Annotated[
    str | None,
    typer.Option(
        "--binary",
        help="terraform or tofu binary to run (default DATAOS_TERRAFORM, else terraform, "
        "else tofu on PATH)",
    ),
]
StackOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-s", "--stack", help="only this stack (repeatable); still run in dependency order"
    ),
]
AutoApproveOpt = Annotated[
    bool,
    typer.Option("--auto-approve", help="do not ask: pass -auto-approve to each 'terraform apply'"),
]

SYNTH_EXAMPLES = """Examples:

\b
  dataos-ctl kernel synth --cloud aws -f resources -R
  dataos-ctl kernel synth --cloud gcp -f resources -R -o /tmp/kernel-gcp
  dataos-ctl kernel synth --cloud azure        # desired state from the running platform
"""
PLAN_EXAMPLES = """Examples:

\b
  dataos-ctl kernel plan --cloud aws -f resources -R
  dataos-ctl kernel plan --cloud aws -f resources -R --stack dataos-cluster
  DATAOS_TERRAFORM=tofu dataos-ctl kernel plan --cloud gcp -f resources -R
"""
APPLY_EXAMPLES = """Examples:

\b
  dataos-ctl kernel apply --cloud aws -f resources -R        # terraform asks to confirm
  dataos-ctl kernel apply --cloud aws -f resources -R --auto-approve
"""


@dataclass(frozen=True)
class Inputs:
    """Where the desired state and the settings come from, and where the stacks go."""

    cloud: Cloud
    files: list[Path] | None
    recursive: bool
    settings: Path | None
    out: Path | None
    workspace: str | None
    app_dir: Path | None


def _inputs(
    cloud: CloudOpt,
    files: FilesOpt = None,
    recursive: RecursiveOpt = False,
    settings: SettingsOpt = None,
    out: OutOpt = None,
    workspace: WorkspaceOpt = None,
    app_dir: AppOpt = None,
) -> Inputs:
    """The options every kernel command takes, declared once: ``_with_inputs`` gives a
    command these parameters, and this function turns their values into ``Inputs``."""
    return Inputs(cloud, files, recursive, settings, out, workspace, app_dir)


def _with_inputs(command: Callable[..., None]) -> Callable[..., None]:
    """``command(inputs, *own options)`` as typer sees it: the options of ``_inputs`` first,
    then the command's own. Typer reads a command's options from its signature, so the
    wrapper's signature is the two lists joined; the wrapper builds ``Inputs`` from the first."""
    shared = inspect.signature(_inputs, eval_str=True).parameters
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]

    @functools.wraps(command)
    def wrapper(**options: Any) -> None:
        command(_inputs(**{name: options.pop(name) for name in shared}), **options)

    wrapper.__signature__ = inspect.Signature([*shared.values(), *own])  # type: ignore[attr-defined]
    return wrapper


@app.command("synth", epilog=SYNTH_EXAMPLES)
@_with_inputs
def synth(inputs: Inputs) -> None:
    """Synthesize the cloud kernel: model.json and one Terraform JSON folder per stack.

    Prints each stack (in dependency order) with its folder. A bad settings file or
    manifest is reported as FILE:LINE:COL like apply, with exit 1 and nothing written."""
    done = _synthesize(inputs)
    for stack in done.stacks:
        console.print(f"stack {stack}  {done.stack_dir(stack)}", markup=False)
    err_console.print(
        f"synth...complete: {len(done.stacks)} stacks for {inputs.cloud.value} in {done.outdir}",
        markup=False,
    )


@app.command("plan", epilog=PLAN_EXAMPLES)
@_with_inputs
def plan(inputs: Inputs, binary: BinaryOpt = None, stack: StackOpt = None) -> None:
    """Synthesize, then 'terraform init' and 'terraform plan' in each stack, in dependency
    order, showing terraform's output; stops at the first failure with its exit code.

    A stack that reads another's outputs plans fully once that one is applied. Without a
    terraform (or tofu) binary: how to install one, exit 2."""
    _terraform("plan", inputs, binary, stack, auto_approve=False)


@app.command("apply", epilog=APPLY_EXAMPLES)
@_with_inputs
def apply(
    inputs: Inputs,
    binary: BinaryOpt = None,
    stack: StackOpt = None,
    auto_approve: AutoApproveOpt = False,
) -> None:
    """Synthesize, then 'terraform init' and 'terraform apply' in each stack, in dependency
    order (the cluster before the platform on it); terraform asks to confirm each stack
    unless --auto-approve. Stops at the first failure with its exit code."""
    _terraform("apply", inputs, binary, stack, auto_approve)


def _terraform(
    action: str, inputs: Inputs, binary: str | None, only: list[str] | None, auto_approve: bool
) -> None:
    """The binary is looked for first: without one, synthesis would be time lost."""
    from dataos_defs.cli import kernel_run

    terraform = kernel_run.find_terraform(binary)
    done = _synthesize(inputs)
    stacks = kernel_run.select_stacks(done, only)
    kernel_run.run_stacks(terraform, done, stacks, kernel_run.terraform_steps(action, auto_approve))
    err_console.print(f"kernel {action}...complete: {', '.join(stacks)}", markup=False)


def _synthesize(inputs: Inputs) -> Synthesized:
    """Build the model (every problem reported before anything is written), write
    ``model.json``, then let the app synthesize the stacks next to it."""
    from dataos_defs.cli import kernel_run, kernel_source

    app_path = kernel_run.locate_app(inputs.app_dir)
    cloud = inputs.cloud.value
    model = kernel_source.kernel_model(
        cloud,
        inputs.settings or app_path / "kernel.yaml",
        inputs.files,
        inputs.recursive,
        inputs.workspace,
    )
    outdir = (inputs.out or kernel_source.default_outdir(cloud)).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    model_file = outdir / "model.json"
    model_file.write_text(model.model_dump_json(indent=2) + "\n")
    return kernel_run.synthesize(app_path, model_file, outdir)
