"""The flare stack on embedded Minerva (DuckDB): inputs -> SQL steps -> outputs."""

from dataos_defs.stacks.flare.model import (
    ColumnSource,
    DepotResolver,
    FlareError,
    FlareResult,
    InputResult,
    OutputResult,
)
from dataos_defs.stacks.flare.runner import run_flare_job

__all__ = [
    "ColumnSource",
    "DepotResolver",
    "FlareError",
    "FlareResult",
    "InputResult",
    "OutputResult",
    "run_flare_job",
]
