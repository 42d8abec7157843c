"""Every dataset a run reads or writes, authorized for the identity it runs as.

Inputs need ``read``, outputs ``write`` on their UDL (``dataos://depot:collection/dataset``),
decided for the run-as identity in one batch. Flare ``query`` inputs read every
``depot.collection.dataset`` their SQL names; a query admission cannot parse is refused, as
the Gateway refuses what it cannot govern. The same decisions are taken again when the run
starts (policies change in between) and the run-as identity's masks and filters apply to
what it reads, so a pipeline never produces data its identity could not see.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from dataos_defs.api.admission.context import Admission, Subject
from dataos_defs.api.admission.runas import RunAs
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks import FlareSpec
from dataos_defs.manifest.validate import ParsedResource

READ, WRITE = "read", "write"
QUERY_DIALECTS = ("spark", "trino", "duckdb")
_PLACEHOLDER = re.compile(r"\$\|[^|]*\|")

Wanted = tuple[str, str, KeyPath]
"""(predicate, dataset address, where the manifest names it)."""


def wanted_datasets(resource: ParsedResource) -> tuple[list[Wanted], list[Issue]]:
    """What the Resource's runs read and write, and the queries that cannot be read."""
    wanted: list[Wanted] = []
    issues: list[Issue] = []
    for spec, path in resource.model.runtime_specs():
        wanted.extend((READ, address, at) for address, at in spec.runtime_consumed(path))
        wanted.extend((WRITE, address, at) for address, at in spec.runtime_produced(path))
        stack_spec = spec.stack_spec
        if isinstance(stack_spec, FlareSpec):
            for index, item in enumerate(stack_spec.job.inputs):
                if item.query is None:
                    continue
                at = (*path, spec.stack_spec_key, "job", "inputs", index, "query")
                found = query_datasets(item.query)
                if found is None:
                    issues.append(
                        resource.issue(
                            at,
                            "the query cannot be parsed, so the datasets it reads cannot be "
                            "authorized",
                            "write one SELECT in Spark or Trino SQL naming datasets as "
                            "depot.collection.dataset",
                        )
                    )
                    continue
                wanted.extend((READ, address, at) for address in found)
    return wanted, issues


def query_datasets(sql: str) -> list[str] | None:
    """The addresses of the ``depot.collection.dataset`` names in ``sql`` (CTE names
    excluded), or None when no dialect flare reads can parse it. Placeholders
    (``$|key|``) are read as a literal."""
    text = _PLACEHOLDER.sub("0", sql)
    for dialect in QUERY_DIALECTS:
        try:
            trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
        except sqlglot.ParseError:
            continue
        if len(trees) != 1:
            return None
        ctes = {cte.alias_or_name for cte in trees[0].find_all(exp.CTE)}
        return sorted(
            {
                f"dataos://{t.catalog}:{t.db}/{t.name}".lower()
                for t in trees[0].find_all(exp.Table)
                if t.catalog and t.db and t.name not in ctes
            }
        )
    return None


def check_datasets(
    adm: Admission, resource: ParsedResource, run_as: RunAs, subject: Subject | None
) -> list[Issue]:
    wanted, issues = wanted_datasets(resource)
    if not wanted or subject is None:
        return issues
    decisions = adm.decide_many(subject, [(predicate, address) for predicate, address, _ in wanted])
    for (predicate, address, at), decision in zip(wanted, decisions, strict=True):
        if decision.allow:
            continue
        issues.append(
            resource.issue(
                at,
                f"this {resource.kind} runs as {subject.user_id}, who may not {predicate} "
                f"{address} ({decision.reason})",
                f"an access policy must allow users:id:{subject.user_id} (or one of their tags) "
                f"'{predicate}' on {address}, or run as a user who may (runAsUser)",
            )
        )
    return issues
