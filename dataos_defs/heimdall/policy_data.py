"""Compile DataOS access policies into the data document the Rego policies read.

Globs are translated here, once, into patterns both Rego engines evaluate the same way:

* ``exact``: no glob syntax at all; compared with ``==`` (or set membership for tags).
* ``prefix``: a literal followed by one trailing ``**``; compared with ``startswith``.
* ``regex``: everything else, an anchored RE2-compatible regular expression for
  ``regex.match``. RE2 (OPA, Go) and the Rust ``regex`` crate (regorus) agree on the small
  subset emitted here; Rego's own ``glob.match`` is not used because its ``**`` and
  character-class rules differ from DataOS globs and between engine versions.

Glob semantics (DATAOS_CONTRACT §4), with the level separators chosen here:

* tags separate levels with ``:`` only (``roles:id:user``);
* object paths (UDL ``dataos://depot:collection/dataset`` and API paths ``/metis/...``)
  separate levels with both ``:`` and ``/``;
* ``?`` is one character other than a separator, ``*`` any run (possibly empty) of
  non-separators, ``**`` any run of characters including separators and newlines;
* ``[abc]``, ``[a-c]`` are one character of the class; ``[!a-c]`` one character outside the
  class that is not a separator either;
* ``{x,y}`` alternatives, which may hold globs and nest; ``\\`` makes the next character
  literal, inside classes too.

So ``dataos://lakehouse:retail/**`` matches every dataset of the collection (not the bare
``dataos://lakehouse:retail``), and ``dataos://lakehouse:*/orders`` any collection's orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.policy import AccessPolicy, Policy
from dataos_defs.manifest.policy_parts import glob_problem
from dataos_defs.manifest.validate import parse_documents

TAG_SEPARATORS = ":"
PATH_SEPARATORS = ":/"
DEFAULT_COLLECTION = "default"
PatternKind = Literal["exact", "prefix", "regex"]
_REGEX_META = set("\\.+*?()|[]{}^$-&~#")


class PolicyDataError(ValueError):
    """An access policy that cannot be compiled (bad glob, duplicate name, empty group)."""


@dataclass(frozen=True)
class Pattern:
    """A glob together with the form the Rego policy evaluates."""

    glob: str
    kind: PatternKind
    value: str

    def as_data(self) -> dict[str, str]:
        return {"glob": self.glob, "kind": self.kind, "value": self.value}


def compile_glob(glob: str, separators: str) -> Pattern:
    """Classify ``glob`` and translate it for the engines.

    >>> compile_glob("roles:id:user", ":")
    Pattern(glob='roles:id:user', kind='exact', value='roles:id:user')
    >>> compile_glob("dataos://lakehouse:retail/**", ":/").kind
    'prefix'
    >>> compile_glob("users:id:[!a-c]?", ":").value
    '(?s)^users:id:[^a-c:][^:]$'
    """
    problem = glob_problem(glob)
    if problem:
        raise PolicyDataError(f"not a valid glob {glob!r}: {problem}")
    tokens = _tokens(glob)
    literal = _literal_prefix(tokens)
    if literal is not None and len(literal[0]) == len(tokens):
        return Pattern(glob, "exact", literal[1])
    if literal is not None and len(literal[0]) == len(tokens) - 1 and tokens[-1] == ("**", ""):
        return Pattern(glob, "prefix", literal[1])
    return Pattern(glob, "regex", "(?s)^" + _translate(tokens, separators) + "$")


Token = tuple[str, str]
"""(kind, text): ``lit`` with the literal character, ``*``, ``**``, ``?``, ``class`` with the
raw class body, ``alt`` with the raw body between braces."""


def _tokens(glob: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "\\":
            tokens.append(("lit", glob[index + 1]))
            index += 2
        elif char == "*":
            if glob.startswith("**", index):
                tokens.append(("**", ""))
                index += 2
            else:
                tokens.append(("*", ""))
                index += 1
        elif char == "?":
            tokens.append(("?", ""))
            index += 1
        elif char == "[":
            end = _closing(glob, index, "[", "]")
            tokens.append(("class", glob[index + 1 : end]))
            index = end + 1
        elif char == "{":
            end = _closing(glob, index, "{", "}")
            tokens.append(("alt", glob[index + 1 : end]))
            index = end + 1
        else:
            tokens.append(("lit", char))
            index += 1
    return tokens


def _closing(glob: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing the one at ``start`` (escapes and nesting respected)."""
    depth = 0
    index = start
    while index < len(glob):
        char = glob[index]
        if char == "\\":
            index += 2
            continue
        if opening == "{" and char == "[":
            index = _closing(glob, index, "[", "]") + 1
            continue
        if char == opening and (opening == "{" or index == start):
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise PolicyDataError(f"unclosed {opening!r} in {glob!r}")


def _literal_prefix(tokens: Sequence[Token]) -> tuple[list[Token], str] | None:
    head = []
    for token in tokens:
        if token[0] != "lit":
            break
        head.append(token)
    if len(head) < len(tokens) - 1:
        return None
    return head, "".join(text for _, text in head)


def _translate(tokens: Sequence[Token], separators: str) -> str:
    not_separator = "[^" + "".join(_escape(c) for c in separators) + "]"
    out: list[str] = []
    for kind, text in tokens:
        if kind == "lit":
            out.append(_escape(text))
        elif kind == "**":
            out.append(".*")
        elif kind == "*":
            out.append(not_separator + "*")
        elif kind == "?":
            out.append(not_separator)
        elif kind == "class":
            out.append(_character_class(text, separators))
        else:
            branches = [_translate(_tokens(part), separators) for part in _split_alternatives(text)]
            out.append("(?:" + "|".join(branches) + ")")
    return "".join(out)


def _split_alternatives(body: str) -> list[str]:
    """``a,{b,c},d\\,e`` → ``["a", "{b,c}", "d\\,e"]``: top-level commas only."""
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _closing(body, index, "[", "]") + 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:index])
            start = index + 1
        index += 1
    parts.append(body[start:])
    return parts


def _character_class(body: str, separators: str) -> str:
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    items: list[str] = []
    index = 0
    while index < len(body):
        if body[index] == "\\":
            index += 1
        first = body[index]
        index += 1
        if index + 1 < len(body) and body[index] == "-":
            last_at = index + 1
            if body[last_at] == "\\":
                last_at += 1
            items.append(_escape(first) + "-" + _escape(body[last_at]))
            index = last_at + 1
        else:
            items.append(_escape(first))
    if negated:
        items.extend(_escape(c) for c in separators)
        return "[^" + "".join(items) + "]"
    return "[" + "".join(items) + "]"


def _escape(char: str) -> str:
    if char in _REGEX_META:
        return "\\" + char
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{{{ord(char):x}}}"
    return char


def compile_group(globs: Iterable[str], separators: str) -> dict[str, list[str]]:
    """Globs split by the form the Rego policy evaluates, the originals kept beside them."""
    group: dict[str, list[str]] = {"globs": [], "exact": [], "prefixes": [], "regexes": []}
    for glob in globs:
        pattern = compile_glob(glob, separators)
        group["globs"].append(glob)
        list_name = {"exact": "exact", "prefix": "prefixes", "regex": "regexes"}[pattern.kind]
        if pattern.value not in group[list_name]:
            group[list_name].append(pattern.value)
    return group


def _tag_groups(groups: Iterable[Sequence[str]], where: str) -> list[dict[str, list[str]]]:
    compiled = []
    for group in groups:
        if not group:
            raise PolicyDataError(f"{where}: an empty tag group would match everyone")
        compiled.append(compile_group(group, TAG_SEPARATORS))
    return compiled


def compile_access(access: AccessPolicy, name: str) -> dict[str, Any]:
    """One access policy as the Rego policies read it (see policies/heimdall/access.rego)."""
    objects = access.objects
    if not objects.paths and not objects.tags:
        raise PolicyDataError(f"policy {name!r}: objects need 'paths' or 'tags'")
    return {
        "name": name,
        "collection": access.collection or DEFAULT_COLLECTION,
        "allow": bool(access.allow),
        "subjects": _tag_groups(access.subjects.tags, f"policy {name!r} subjects"),
        "predicates": sorted(set(access.predicates)),
        "objects": {
            "paths": compile_group(objects.paths or [], PATH_SEPARATORS),
            "tags": _tag_groups(objects.tags or [], f"policy {name!r} objects"),
        },
    }


def subject_index(policies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Which policies a subject's tags can reach, so the engine checks only those.

    A policy is listed under the first exact tag of each subject group: whoever matches a
    group holds that tag. A policy with a group of globs only is checked for everyone.
    """
    by_tag: dict[str, list[int]] = {}
    unindexed: list[int] = []
    for index, policy in enumerate(policies):
        keys = [group["exact"][0] for group in policy["subjects"] if group["exact"]]
        if len(keys) < len(policy["subjects"]):
            unindexed.append(index)
            continue
        for key in dict.fromkeys(keys):
            by_tag.setdefault(key, []).append(index)
    return {"subjects": by_tag, "unindexed": unindexed}


def compile_policies(policies: Iterable[Policy], *, system: bool = True) -> dict[str, Any]:
    """The ``heimdall`` data document of a set of Policy Resources.

    The built-in system policies come with them unless ``system=False``; a given policy
    of the same name replaces the built-in one. Data policies (mask/filter) belong to the
    Gateway and are skipped. Policies are sorted by name so that the document, and thus
    every decision, does not depend on the order of input.
    """
    compiled: dict[str, dict[str, Any]] = {}
    for policy in policies:
        access = policy.policy.access
        if access is None:
            continue
        if policy.name in compiled:
            raise PolicyDataError(f"two access policies are named {policy.name!r}")
        compiled[policy.name] = compile_access(access, policy.name)
    for policy in system_policies() if system else ():
        access = policy.policy.access
        if access is not None and policy.name not in compiled:
            compiled[policy.name] = compile_access(access, policy.name)
    ordered = [compiled[name] for name in sorted(compiled)]
    return {"policies": ordered, "index": subject_index(ordered)}


def data_document(policies: Iterable[Policy], *, system: bool = True) -> dict[str, Any]:
    """The whole data document to load into an engine: ``{"heimdall": {...}}``."""
    return {"heimdall": compile_policies(policies, system=system)}


def parse_policies(text: str, file: str) -> list[Policy]:
    """Policy Resources from YAML text through the manifest loader (raises ManifestError)."""
    documents, issues = parse_yaml(text, file)
    if issues:
        raise ManifestError(issues)
    return [r.model for r in parse_documents(documents) if isinstance(r.model, Policy)]


SYSTEM_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies" / "heimdall" / "system"


@cache
def system_policies(directory: Path = SYSTEM_POLICY_DIR) -> tuple[Policy, ...]:
    """The built-in access policies, kept as DataOS manifests in ``policies/heimdall/system``."""
    found: list[Policy] = []
    for path in sorted(directory.glob("*.yaml")):
        found.extend(parse_policies(path.read_text(encoding="utf-8"), str(path)))
    return tuple(found)
