"""Depots confined to the storage their creator may use.

A depot's owner is granted every dataset of it (``heimdall.service.depot_owner_policy``),
so whoever points a depot at storage owns what is there. For each depot of the set,
admission refuses:

* a local FILE ``path``, LAKEHOUSE ``warehouse`` or SQLite catalog file outside the storage
  roots, in the platform's own state or reached through a symbolic link
  (``adapters.localfs``; readers and writers check again at run time), and a path using a
  scheme no reader confines (``local://``, fsspec chains);
* a depot whose place (``manifest.depot_locations``: a real folder, an object-store prefix,
  a database, a Trino catalog, ...) is the same as, inside, or contains the place of another
  live depot, in the store or in the same set, unless the applier may ``update`` that
  depot (``poros://depot/<name>``): reaching storage another depot governs takes that
  depot's owner's rights (operators have them all).

Heimdall errors (``PolicyEngineError``) propagate: the caller answers 503.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from dataos_defs.adapters.localfs import ConfinementError, Storage, StorageConfigError
from dataos_defs.api.admission.context import Admission
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_locations import LocalPath, Place, depot_locations
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource

UPDATE = "update"
_ROLES = {"path": "path", "warehouse": "warehouse", "catalog": "SQLite catalog file"}


def check_depot(adm: Admission, resource: ParsedResource) -> list[Issue]:
    """The issues of one depot of the set: storage it may not use, storage another depot
    governs."""
    depot = resource.model
    if not isinstance(depot, Depot):
        return []
    try:
        storage = Storage.from_env(adm.home)
    except StorageConfigError as exc:
        return [resource.issue(("depot",), f"local storage is misconfigured: {exc}", exc.hint)]
    mine, issues = _own_places(storage, resource, depot)
    others, unreadable = _other_depots(adm, depot.name)
    issues.extend(
        resource.issue(
            ("depot",),
            f"the location of stored depot '{name}' cannot be compared: its manifest no "
            "longer validates",
            f"an operator should apply depot '{name}' again or delete it",
        )
        for name in unreadable
    )
    for name, other in sorted(others.items()):
        issues.extend(_overlaps(adm, resource, mine, name, _places(storage, other)))
    return issues


def _own_places(
    storage: Storage, resource: ParsedResource, depot: Depot
) -> tuple[list[Place], list[Issue]]:
    """The depot's places, its local paths confined; the issues of refused paths."""
    found = depot_locations(depot.depot)
    places = list(found.places)
    issues = [resource.issue(p.path, p.message, p.hint) for p in found.problems]
    for local in found.local:
        try:
            real = storage.confine(local.text)
        except ConfinementError as exc:
            issues.append(_refused(storage, resource, local, exc))
            continue
        places.append(local_place(real, local.where))
    return places, issues


def local_place(real: Path, where: KeyPath = ()) -> Place:
    """A real folder as a place, each name case-folded and NFC-normalized: on a file system
    that ignores case or normalizes names, ``Data/x`` and ``data/x`` are one folder, and
    comparing conservatively only asks for rights where a strict comparison might give
    data away."""
    parts = tuple(unicodedata.normalize("NFC", part).casefold() for part in real.parts)
    return Place("local", parts, str(real), where)


def _refused(
    storage: Storage, resource: ParsedResource, local: LocalPath, exc: ConfinementError
) -> Issue:
    roots = storage.describe_roots()
    hint = exc.hint if roots in exc.hint else f"{exc.hint}; the storage roots are {roots}"
    return resource.issue(local.where, f"{_ROLES[local.role]} {exc.message}", hint)


def _places(storage: Storage, depot: Depot) -> list[Place]:
    """Another depot's places as they are now (local paths resolved, no rule applied: a
    depot admitted before a rule still governs its storage)."""
    found = depot_locations(depot.depot)
    local = [storage.resolve(p.text) for p in found.local]
    return [*found.places, *(local_place(real) for real in local)]


def _other_depots(adm: Admission, name: str) -> tuple[dict[str, Depot], list[str]]:
    """Every live depot but ``name``: the set's version where the set has one; and the
    stored depots whose manifest no longer validates."""
    found: dict[str, Depot] = {}
    unreadable: list[str] = []
    adapter = resource_adapter()
    for stored in adm.store.list(kind="depot"):
        if stored.name == name:
            continue
        try:
            model = adapter.validate_python(stored.manifest)
        except ValidationError:
            unreadable.append(stored.name)
            continue
        if isinstance(model, Depot):
            found[stored.name] = model
    for parsed in adm.in_set("depot"):
        if parsed.name != name and isinstance(parsed.model, Depot):
            found[parsed.name] = parsed.model
            if parsed.name in unreadable:
                unreadable.remove(parsed.name)
    return found, unreadable


def _overlaps(
    adm: Admission,
    resource: ParsedResource,
    mine: Iterable[Place],
    other: str,
    theirs: list[Place],
) -> list[Issue]:
    """Issues for the places overlapping depot ``other``'s, unless the applier may update
    it (one decision per other depot)."""
    found = [(m, t, rel) for m in mine for t in theirs if (rel := m.relation(t)) is not None]
    if not found:
        return []
    target = resource_object("depot", other, None)
    decision = adm.applier_may(UPDATE, target)
    if decision.allow:
        return []
    user = adm.applier.user_id
    issues: dict[tuple[str | int, ...], Issue] = {}
    for place, their, relation in found:
        issues.setdefault(
            place.where,
            resource.issue(
                place.where,
                f"{place} {relation} {their}, the storage of depot '{other}'",
                f"{user} may not update depot '{other}' ({UPDATE} on {target}: "
                f"{decision.reason}), and reaching storage another depot governs takes that "
                f"depot's owner's rights: choose a location of your own, or ask the owner "
                f"of '{other}' or an operator",
            ),
        )
    return list(issues.values())
