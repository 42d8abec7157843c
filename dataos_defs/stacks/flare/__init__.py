"""The flare stack on embedded Minerva (DuckDB): inputs -> SQL steps -> outputs."""

from dataos_defs.stacks.flare.model import (
    AccessDenied,
    ColumnSource,
    DepotResolver,
    FlareError,
    FlareResult,
    Governor,
    InputResult,
    OutputResult,
)
from dataos_defs.stacks.flare.runner import run_flare_job

__all__ = [
    "AccessDenied",
    "ColumnSource",
    "DepotResolver",
    "FlareError",
    "FlareResult",
    "Governor",
    "InputResult",
    "OutputResult",
    "run_flare_job",
]
