"""Stacks that run arbitrary code are a privilege.

Flare and soda run declarative SQL and checks that the platform governs (every dataset
authorized and masked for the run-as identity). Any other stack runs code the platform
cannot inspect — the ``container`` stack runs a command in an image, and in embedded mode
that process runs as the platform's own OS user, next to the store and the secret key. So
applying a Resource that uses such a stack needs the predicate ``use`` on the stack's object
(``poros://stack/container``); operators have it, nobody else does by default.
"""

from __future__ import annotations

from dataos_defs.api.admission.context import Admission
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.validate import ParsedResource

GOVERNED_STACKS = frozenset({"flare", "soda"})
"""Stacks whose every read and write the platform authorizes and masks."""
USE = "use"


def check_stacks(adm: Admission, resource: ParsedResource) -> list[Issue]:
    issues = []
    for spec, path in resource.model.runtime_specs():
        stack = spec.stack_ref.name
        if stack in GOVERNED_STACKS:
            continue
        target = resource_object("stack", stack, None)
        decision = adm.applier_may(USE, target)
        if decision.allow:
            continue
        issues.append(
            resource.issue(
                (*path, "stack"),
                f"the {stack} stack runs code the platform cannot govern; {adm.applier.user_id} "
                f"may not use it ({decision.reason})",
                f"ask an operator to run it, or for an access policy allowing '{USE}' on {target}",
            )
        )
    return issues
