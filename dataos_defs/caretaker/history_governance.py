"""Who sees which rows of Caretaker's history: each reader their own runs, operators all.

Heimdall first decides whether a caller may read a history table at all (default deny;
``policies/heimdall/system/caretaker.yaml``). Of the rows, a caller who is not an operator
keeps those whose ``run_as`` is their own user id, on every history table (steps and
processes carry their run's ``run_as``); a row without an owner is an operator's only.

The filter is one more row filter in the caller's :class:`Governance`, applied by the
Gateway's rewrite like those of data policies (``AND``-ed with them, on DuckDB and Trino
alike) and named in the audit as :data:`OWN_RUNS_POLICY`. It depends on the caller's id,
not only on their tags, so a governed statement over the history is cached per caller.
"""

from __future__ import annotations

from collections.abc import Iterable

from dataos_defs.caretaker.dataset import is_history_table
from dataos_defs.gateway.model import AppliedFilter, Governance, TableName
from dataos_defs.manifest.policy_parts import RowFilter

OWN_RUNS_POLICY = "system-caretaker-own-runs"
OPERATOR_TAG = "roles:id:operator"
READER_TAG = "roles:id:caretaker-reader"


def history_governance(
    governance: Governance, name: TableName, user_id: str, user_tags: Iterable[str]
) -> Governance:
    """``governance`` with the own-runs filter added when ``name`` is a history table and
    the caller is not an operator; otherwise ``governance`` itself."""
    if not is_history_table(name) or OPERATOR_TAG in set(user_tags):
        return governance
    own = AppliedFilter(
        OWN_RUNS_POLICY, (RowFilter(column="run_as", operator="equals", value=user_id),)
    )
    return Governance(
        masks=governance.masks,
        filters=(*governance.filters, own),
        exempted=governance.exempted,
    )
