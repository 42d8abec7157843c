"""Names of compiled Dagster objects, shared by the compiler and the services that look
them up over Dagster's API (which must not import Dagster itself).

>>> op_name("public", "shop-daily", "ingest-customers")
'public__shop_daily__ingest_customers'
"""

from __future__ import annotations

import re

_INVALID_NAME = re.compile(r"[^A-Za-z0-9_]+")
SEPARATOR = "__"


def name(text: str) -> str:
    """A Dagster name (``[A-Za-z0-9_]+``): runs of other characters become one ``_``."""
    return _INVALID_NAME.sub("_", text).strip("_") or "_"


def op_name(workspace: str, workflow: str, job: str) -> str:
    """The op (and step key) of one workflow job."""
    return SEPARATOR.join(name(part) for part in (workspace, workflow, job))


def job_name(workspace: str, workflow: str) -> str:
    """The Dagster job of one workflow."""
    return SEPARATOR.join(name(part) for part in (workspace, workflow))
