"""A Bundle's plan: its members as Resources of their own, in the order they are applied.

A member is the manifest a bundle resource embeds (``spec``; ``dataos-ctl`` inlines
``file``), validated as if it were applied alone, with two additions that link it to the
bundle: the tag ``dataos:bundle:<bundle>`` (``get`` shows it) and, when the bundle resource
names a ``workspace``, that workspace written into the manifest. Its issues keep the bundle
file's positions and name the full key path (``bundle.resources[2].spec.depot...``).

The apply order is a topological order of the declared ``dependencies`` and
``dependencyConditions`` plus the implicit ones: a member referencing another member (a
workflow reading the bundle's depot) comes after it. Ties keep the bundle's order; a delete
goes in the reverse order. A re-apply that drops members deletes them once the new
revision's members are applied (:attr:`BundlePlan.removed`, in the previous revision's
delete order).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from dataos_defs.manifest.base import DEFAULT_WORKSPACE
from dataos_defs.manifest.bundle import Bundle, BundleResource, StateMatch, bundle_tag
from dataos_defs.manifest.errors import Issue, ManifestError, format_path
from dataos_defs.manifest.loader import Document
from dataos_defs.manifest.registry import RESOURCE_TYPES
from dataos_defs.manifest.source import KeyPath, SourceMap
from dataos_defs.manifest.validate import ParsedResource, check_set, parse_document
from dataos_defs.poros.records import ResourceKey


@dataclass
class PrefixedSourceMap(SourceMap):
    """The bundle file's positions, seen from a member: its paths are prefixed with the
    member's place in the bundle (``bundle.resources[i].spec``)."""

    prefix: KeyPath = ()

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        return super().locate((*self.prefix, *path))

    def issue(self, path: Sequence[str | int], message: str, hint: str | None = None) -> Issue:
        line, column = self.locate(path)
        return Issue(self.file, line, column, format_path((*self.prefix, *path)), message, hint)


@dataclass(frozen=True)
class Member:
    """One bundle resource, ready to apply."""

    id: str
    index: int
    resource: ParsedResource
    key: ResourceKey
    declared: BundleResource
    after: tuple[str, ...]
    """The member ids applied before this one (declared and implicit)."""

    def describe(self) -> str:
        return f"{self.id} ({self.key})"


@dataclass
class BundlePlan:
    name: str
    bundle: Bundle
    document: Document
    members: list[Member] = field(default_factory=list)
    """In apply order."""
    removed: list[ResourceKey] = field(default_factory=list)
    """Live members of the bundle's previous revision that this one no longer has, in that
    revision's delete order: deleted after this revision's members are applied."""
    force_removal: bool = False
    """Delete :attr:`removed` even when Resources outside the bundle depend on them."""

    @property
    def workspaces(self) -> list[str]:
        return [w.name for w in self.bundle.bundle.workspaces or []]

    def by_id(self, member_id: str) -> Member:
        return next(m for m in self.members if m.id == member_id)

    def delete_order(self) -> list[Member]:
        return list(reversed(self.members))


def plan_bundle(parsed: ParsedResource) -> BundlePlan:
    """The plan of a validated bundle; raises ManifestError with every issue found."""
    bundle = parsed.model
    assert isinstance(bundle, Bundle)
    plan = BundlePlan(bundle.name, bundle, parsed.document)
    issues: list[Issue] = []
    built: list[tuple[int, BundleResource, ParsedResource]] = []
    for index, declared in enumerate(bundle.bundle.resources):
        resource, problems = _member(parsed.document, bundle.name, index, declared)
        issues.extend(problems)
        if resource is not None:
            built.append((index, declared, resource))
    issues.extend(check_set([r for _, _, r in built], None))
    if issues:
        raise ManifestError(issues)
    keys = {declared.id: _key(resource) for _, declared, resource in built}
    after = {declared.id: _after(declared, resource, keys) for _, declared, resource in built}
    order, stuck = _order([declared.id for _, declared, _ in built], after)
    if stuck:
        raise ManifestError([_implicit_cycle(parsed, bundle, stuck)])
    by_id = {declared.id: (index, declared, resource) for index, declared, resource in built}
    for member_id in order:
        index, declared, resource = by_id[member_id]
        plan.members.append(
            Member(member_id, index, resource, keys[member_id], declared, after[member_id])
        )
    return plan


def _member(
    document: Document, bundle: str, index: int, declared: BundleResource
) -> tuple[ParsedResource | None, list[Issue]]:
    at: KeyPath = ("bundle", "resources", index)
    source = PrefixedSourceMap(document.file, document.source.positions, (*at, "spec"))
    if declared.spec is None:
        return None, [
            document.source.issue(
                (*at, "file"),
                f"resource '{declared.id}' names a file the server cannot read",
                "apply the bundle with dataos-ctl, which inlines each file as 'spec'",
            )
        ]
    data = copy.deepcopy(declared.spec)
    kind = data.get("type")
    model = RESOURCE_TYPES.get(kind) if isinstance(kind, str) else None
    if kind == "bundle":
        return None, [source.issue(("type",), "a bundle cannot contain a bundle")]
    if declared.workspace and model is not None and model.LEVEL == "instance":
        return None, [
            document.source.issue(
                (*at, "workspace"),
                f"a {kind} is instance-level: it belongs to no workspace",
                "remove 'workspace' from this resource",
            )
        ]
    if declared.workspace:
        data["workspace"] = declared.workspace
    tags = data.get("tags")
    tag = bundle_tag(bundle)
    if not isinstance(tags, list):
        data["tags"] = [tag]
    elif tag not in tags:
        data["tags"] = [*tags, tag]
    resource, issues = parse_document(Document(document.file, document.index, data, source))
    return resource, issues


def _key(resource: ParsedResource) -> ResourceKey:
    return ResourceKey(resource.kind, resource.name, resource.workspace(None))


def _after(
    declared: BundleResource, resource: ParsedResource, keys: dict[str, ResourceKey]
) -> tuple[str, ...]:
    """Declared upstream ids, then those of the members this one references."""
    ids = [dep for dep, _ in declared.upstream()]
    by_key = {key: member_id for member_id, key in keys.items()}
    own = _key(resource)
    for ref in resource.model.references():
        model = RESOURCE_TYPES.get(ref.kind)
        workspace = None
        if model is not None and model.LEVEL == "workspace":
            workspace = ref.workspace or own.workspace or DEFAULT_WORKSPACE
        found = by_key.get(ResourceKey(ref.kind, ref.name, workspace))
        if found is not None and found != declared.id:
            ids.append(found)
    return tuple(dict.fromkeys(ids))


def _order(ids: list[str], after: dict[str, tuple[str, ...]]) -> tuple[list[str], list[str]]:
    """A stable topological order, and the ids left over by a cycle."""
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(ids):
        ready = next((i for i in ids if i not in placed and set(after[i]) <= placed), None)
        if ready is None:
            return done, [i for i in ids if i not in placed]
        done.append(ready)
        placed.add(ready)
    return done, []


def _implicit_cycle(parsed: ParsedResource, bundle: Bundle, stuck: list[str]) -> Issue:
    index = next(i for i, r in enumerate(bundle.bundle.resources) if r.id == stuck[0])
    return parsed.issue(
        ("bundle", "resources", index, "id"),
        "these resources reference each other or wait on each other in a cycle: "
        + ", ".join(stuck),
        "a resource that references another member (a depot, a secret) is applied after it; "
        "remove the dependency that points back",
    )


def dropped_members(previous: BundlePlan, plan: BundlePlan) -> list[ResourceKey]:
    """The members of ``previous`` that ``plan`` no longer has, in ``previous``'s delete
    order (reverse dependency order)."""
    kept = {member.key for member in plan.members}
    return [member.key for member in previous.delete_order() if member.key not in kept]


def stored_plan(manifest: dict[str, object], file: str | None) -> BundlePlan:
    """The plan of a stored bundle (without the positions of its file)."""
    document = Document(file or "<stored bundle>", 0, manifest, SourceMap(file or ""))
    resource, issues = parse_document(document)
    if resource is None:
        raise ManifestError(issues)
    return plan_bundle(resource)


def matches(match: StateMatch | None, observed: str | None) -> bool:
    """``is``: equal to one value; ``contains``: holds one as a substring; both: either."""
    if match is None:
        return True
    if observed is None:
        return False
    if match.is_ is None and match.contains is None:
        return True
    return observed in (match.is_ or []) or any(part in observed for part in match.contains or [])


def describe_match(what: str, match: StateMatch) -> str:
    """``status is [active]``, ``runtime contains [running]``."""
    parts = []
    if match.is_ is not None:
        parts.append(f"{what} is [{', '.join(match.is_)}]")
    if match.contains is not None:
        parts.append(f"{what} contains [{', '.join(match.contains)}]")
    return " or ".join(parts) or f"{what} is anything"
