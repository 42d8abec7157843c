"""Every dataset a run reads or writes, authorized for the identity it runs as.

Inputs need ``read``, outputs ``write`` on their UDL (``dataos://depot:collection/dataset``),
decided for the run-as identity in one batch. Flare ``query`` inputs read every
``depot.collection.dataset`` their SQL names; a query admission cannot parse is refused, as
the Gateway refuses what it cannot govern. The same decisions are taken again when the run
starts (policies change in between) and the run-as identity's masks and filters apply to
what it reads, so a pipeline never produces data its identity could not see.
"""

from __future__ import annotations

from dataos_defs.api.admission.context import Admission, Subject
from dataos_defs.api.admission.runas import RunAs
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks import FlareSpec
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.flare.sql import query_addresses

READ, WRITE = "read", "write"

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
    """The addresses of the ``depot.collection.dataset`` names in ``sql``, read as the run
    reads them (lower case, as Heimdall's paths are compared), or None when flare could not
    parse it."""
    try:
        return sorted({address.lower() for address in query_addresses(sql, "query")})
    except FlareError:
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
