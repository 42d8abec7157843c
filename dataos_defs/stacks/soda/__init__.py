"""The soda stack: SodaCL checks on depot datasets, read through embedded Minerva (DuckDB)
and executed as Great Expectations 1.x expectation suites."""

from dataos_defs.stacks.soda.formats import FORMATS
from dataos_defs.stacks.soda.model import (
    CheckResult,
    DatasetResult,
    Outcome,
    Severity,
    SodaError,
    SodaResult,
)
from dataos_defs.stacks.soda.runner import run_soda_job

__all__ = [
    "FORMATS",
    "CheckResult",
    "DatasetResult",
    "Outcome",
    "Severity",
    "SodaError",
    "SodaResult",
    "run_soda_job",
]
