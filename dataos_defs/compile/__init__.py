"""Compile DataOS Resources into Dagster Definitions (pure: executors do the I/O)."""

from dataos_defs.compile.context import (
    CheckOutput,
    CheckTarget,
    CompileError,
    CompileInput,
    JobContext,
    StackExecutor,
    StackOutput,
    TransientError,
)
from dataos_defs.compile.definitions import compile_definitions

__all__ = [
    "CheckOutput",
    "CheckTarget",
    "CompileError",
    "CompileInput",
    "JobContext",
    "StackExecutor",
    "StackOutput",
    "TransientError",
    "compile_definitions",
]
