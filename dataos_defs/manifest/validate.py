"""From YAML documents to typed Resources, with every problem positioned and explained."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dataos_defs.manifest.base import DEFAULT_WORKSPACE, ResourceBase
from dataos_defs.manifest.errors import Issue, ManifestError, format_path
from dataos_defs.manifest.loader import Document
from dataos_defs.manifest.registry import RESOURCE_TYPES, resource_adapter
from dataos_defs.manifest.sensitive import sensitive_paths
from dataos_defs.manifest.source import KeyPath, SourceMap


@dataclass
class ParsedResource:
    """A validated Resource together with the document it came from."""

    model: ResourceBase
    document: Document

    @property
    def kind(self) -> str:
        return self.model.KIND

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def is_workspace_level(self) -> bool:
        return self.model.LEVEL == "workspace"

    def workspace(self, requested: str | None) -> str | None:
        """Instance-level types live outside workspaces; the others default to ``public``."""
        if not self.is_workspace_level:
            return None
        return requested or self.model.workspace or DEFAULT_WORKSPACE

    def issue(self, path: KeyPath, message: str, hint: str | None = None) -> Issue:
        return self.document.source.issue(path, message, hint)

    def secret_paths(self) -> list[KeyPath]:
        """Declared secret fields plus inline credentials found by key name, outermost only."""
        paths = set(self.model.secret_paths()) | set(sensitive_paths(self.document.data))
        return sorted(
            (p for p in paths if not any(p[:n] in paths for n in range(len(p)))),
            key=lambda p: tuple(str(part) for part in p),
        )


def parse_document(document: Document) -> tuple[ParsedResource | None, list[Issue]]:
    """Validate one document against the Resource union; the issues say what is wrong where."""
    data = document.data
    source = document.source
    if not isinstance(data, dict):
        found = type(data).__name__
        return None, [source.issue((), f"a manifest must be a mapping, not {found}", None)]
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in RESOURCE_TYPES:
        return None, [_unknown_type(document, kind)]
    try:
        model = resource_adapter().validate_python(data)
    except ValidationError as exc:
        model_cls = RESOURCE_TYPES[kind]
        return None, [_to_issue(document, model_cls, err) for err in _dedupe(exc.errors())]
    parsed = ParsedResource(model, document)
    issues = [parsed.issue(p.path, p.message, p.hint) for p in model.problems()]
    for prefix, manifest in model.embedded_manifests():
        issues.extend(_embedded_issues(document, prefix, manifest))
    return (parsed if not issues else None), issues


def _embedded_issues(document: Document, prefix: KeyPath, manifest: Any) -> list[Issue]:
    """Validate a manifest nested in another one, positions and paths kept in the outer file."""
    depth = len(prefix)
    positions = {
        path[depth:]: pos
        for path, pos in document.source.positions.items()
        if path[:depth] == prefix
    }
    inner = Document(document.file, document.index, manifest, SourceMap(document.file, positions))
    _, issues = parse_document(inner)
    outer = format_path(prefix)
    return [
        replace(issue, path=f"{outer}.{issue.path}" if issue.path else outer) for issue in issues
    ]


def _unknown_type(document: Document, kind: object) -> Issue:
    known = sorted(RESOURCE_TYPES)
    if kind is None:
        return document.source.issue(
            ("type",), "missing field 'type'", f"one of: {', '.join(known)}"
        )
    close = difflib.get_close_matches(str(kind), known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(known)}"
    return document.source.issue(("type",), f"unknown Resource type '{kind}'", hint)


def _dedupe(errors: Iterable[ErrorDetails]) -> list[ErrorDetails]:
    """Drop the tag segment pydantic puts first and repeated reports of one location."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for err in errors:
        loc = tuple(err["loc"][1:]) if err["loc"] and isinstance(err["loc"][0], str) else err["loc"]
        key = (loc, err["type"])
        if key in seen:
            continue
        seen.add(key)
        err["loc"] = loc
        out.append(err)
    return out


def _to_issue(document: Document, model_cls: type[BaseModel], err: ErrorDetails) -> Issue:
    loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
    loc = _strip_union_branches(document.data, loc)
    kind = err["type"]
    message, hint = _describe(err, model_cls, loc)
    if kind == "missing":
        line, column = document.source.locate(loc[:-1])
        return Issue(document.file, line, column, format_path(loc), message, hint)
    return document.source.issue(loc, message, hint)


def _strip_union_branches(data: Any, loc: KeyPath) -> KeyPath:
    """Pydantic names union members in ``loc`` (``str``, ``list[...]``); keep real keys only."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if _has_child(node, part):
            out.append(part)
            node = node[part]
        elif (isinstance(node, dict | list) or node is None) and not _looks_like_branch(part):
            out.append(part)
            node = None
    return tuple(out)


def _has_child(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _looks_like_branch(part: str | int) -> bool:
    return isinstance(part, str) and (
        "[" in part
        or part in {"str", "int", "float", "bool", "list", "dict", "none"}
        or part[:1].isupper()
        or part.startswith("function-")
    )


def _describe(
    err: ErrorDetails, model_cls: type[BaseModel], loc: KeyPath
) -> tuple[str, str | None]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = allowed_keys(model_cls, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif allowed:
            hint = "allowed here: " + ", ".join(sorted(allowed)[:20])
        else:
            hint = None
        return f"unknown field '{key}'", hint
    if kind == "missing":
        return f"missing required field '{loc[-1] if loc else '?'}'", None
    if kind == "literal_error":
        value = err.get("input")
        expected = str(ctx.get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",")]
        close = difflib.get_close_matches(str(value), options, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"one of: {expected}"
        return f"'{value}' is not allowed", hint
    if kind in {"value_error", "assertion_error"}:
        reason = str(ctx.get("error", err["msg"]))
        value = err.get("input")
        shown = _short(value)
        if (
            isinstance(value, str | int | float)
            and not isinstance(value, bool)
            and shown not in reason
        ):
            return f"invalid value {shown}: {reason}", None
        return reason, None
    value = err.get("input")
    shown = _short(value)
    return f"{err['msg'].rstrip('.')} (got {shown})", None


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def allowed_keys(model_cls: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The keys a model accepts at ``path``, following field annotations (for hints)."""
    current: Any = model_cls
    for part in path:
        current = _descend(current, part)
        if current is None:
            return []
    models = _models_in(current)
    keys: list[str] = []
    for model in models:
        for name, field in model.model_fields.items():
            keys.append(field.alias or name)
    return keys


def _descend(annotation: Any, part: str | int) -> Any:
    for model in _models_in(annotation):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
    for arg in _flatten(annotation):
        origin = typing.get_origin(arg)
        if origin is list and isinstance(part, int):
            return typing.get_args(arg)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(arg)[1]
    return None


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [a for arg in typing.get_args(annotation) for a in _flatten(arg)]
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    return [annotation]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]


def check_set(resources: Sequence[ParsedResource], workspace: str | None) -> list[Issue]:
    """Rules across the manifests of one run: unique identities, one writer per dataset."""
    issues: list[Issue] = []
    identities: dict[tuple[str, str | None, str], ParsedResource] = {}
    writers: dict[str, ParsedResource] = {}
    for resource in resources:
        ident = (resource.kind, resource.workspace(workspace), resource.name)
        first = identities.setdefault(ident, resource)
        if first is not resource:
            issues.append(
                resource.issue(
                    ("name",),
                    f"{resource.kind} '{resource.name}' is defined twice in this apply",
                    f"first defined at {first.document.file}:{first.document.line}",
                )
            )
        for dataset, path in resource.model.produced_datasets():
            owner = writers.setdefault(dataset, resource)
            if owner is not resource and owner.name != resource.name:
                issues.append(
                    resource.issue(
                        path,
                        f"dataset {dataset} is already written by {owner.kind} '{owner.name}'",
                        f"see {owner.document.file}:{owner.document.line}; "
                        "one workflow owns each output dataset",
                    )
                )
    return issues


def parse_documents(
    documents: Sequence[Document], workspace: str | None = None
) -> list[ParsedResource]:
    """Validate every document and the set as a whole; raises with all issues at once."""
    parsed: list[ParsedResource] = []
    issues: list[Issue] = []
    for document in documents:
        resource, problems = parse_document(document)
        issues.extend(problems)
        if resource is not None:
            parsed.append(resource)
    issues.extend(check_set(parsed, workspace))
    if issues:
        raise ManifestError(issues)
    return parsed
