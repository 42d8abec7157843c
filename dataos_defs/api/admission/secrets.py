"""Using a Secret or an Instance-secret needs ``use`` on it.

A depot's ``secrets`` (Instance-secrets) and ``dataosSecrets`` (Secrets), a runtime spec's
``dataosSecrets`` and ``secrets``: each names credentials someone else may own. Naming one
hands its values to whatever the Resource runs or connects, so the identity that will use
them must be allowed the predicate ``use`` on the secret's object (``poros://instance-secret/
<name>``, ``poros://secret:<workspace>/<name>``): for a depot the applier, for a runnable
Resource the identity it runs as. Heimdall grants ``use`` to each secret's owner (a
generated policy; the applier of a set owns the secrets it applies); operators may use
every secret.
"""

from __future__ import annotations

from dataos_defs.api.admission.context import Admission, Subject
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.manifest.base import DEFAULT_WORKSPACE
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource

USE = "use"
SECRET_KINDS = ("secret", "instance-secret")


def secret_objects(adm: Admission, resource: ParsedResource) -> list[tuple[str, KeyPath]]:
    """The object of every secret the Resource names, with where it names it."""
    workspace = resource.workspace(adm.workspace) or DEFAULT_WORKSPACE
    found = [
        (_object(adm, ref.kind, ref.name, ref.workspace or workspace), ref.path)
        for ref in resource.model.references()
        if ref.kind in SECRET_KINDS
    ]
    for spec, path in resource.model.runtime_specs():
        for index, name in enumerate(spec.secrets or []):
            found.append((_object(adm, "secret", name, workspace), (*path, "secrets", index)))
    return found


def _object(adm: Admission, kind: str, name: str, workspace: str) -> str:
    """A ``secret`` reference is found as a Secret of the workspace, else as an
    Instance-secret of that name (as jobs consume both)."""
    if kind == "instance-secret":
        return resource_object(kind, name, None)
    secret = resource_object("secret", name, workspace)
    in_set = any(r.kind == "secret" and r.name == name for r in adm.parsed)
    if in_set or adm.store.get("secret", name, workspace) is not None:
        return secret
    if adm.store.get("instance-secret", name) is not None:
        return resource_object("instance-secret", name, None)
    return secret


def check_secrets(adm: Admission, resource: ParsedResource, user: Subject | None) -> list[Issue]:
    """``user`` is who will use the secrets (None: nobody to decide for, nothing checked)."""
    objects = secret_objects(adm, resource)
    if user == adm.applier:
        owned = {adm.key(r) for r in adm.parsed if r.kind in SECRET_KINDS}
        mine = {resource_object(k.kind, k.name, k.workspace) for k in owned}
        objects = [(path, at) for path, at in objects if path not in mine]
    if not objects or user is None:
        return []
    decisions = adm.decide_many(user, [(USE, path) for path, _ in objects])
    return [
        resource.issue(
            at,
            f"{user.user_id} may not use {path} ({decision.reason})",
            f"use a secret you own, or ask its owner or an operator for an access policy "
            f"allowing users:id:{user.user_id} '{USE}' on {path}",
        )
        for (path, at), decision in zip(objects, decisions, strict=True)
        if not decision.allow
    ]
