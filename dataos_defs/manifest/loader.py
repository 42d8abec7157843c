"""Read YAML manifests with the position of every key, refusing duplicate keys.

The YAML is composed into nodes (libyaml when available) and turned into plain Python
values by hand, so that each key path gets its source position and duplicate keys are
reported instead of silently overwritten. Timestamps stay strings: manifests carry dates
such as ``endOn`` that users expect to round-trip unchanged.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dataos_defs.manifest.compose import LimitExceeded, Limits, compose_all
from dataos_defs.manifest.errors import Issue, ManifestError, format_path
from dataos_defs.manifest.source import KeyPath, SourceMap

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.SafeLoader.yaml_constructors
_TAG = "tag:yaml.org,2002:"
_KEEP_AS_TEXT = {_TAG + "timestamp", _TAG + "binary"}
_VARIABLE = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
YAML_SUFFIXES = (".yaml", ".yml")
STDIN = "-"
STDIN_NAME = "<stdin>"
_INTEGER = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?[0-9]*\.[0-9]+$")


@dataclass
class Document:
    """One YAML document of a file: its value and where each of its keys stands."""

    file: str
    index: int
    data: Any
    source: SourceMap

    @property
    def line(self) -> int:
        return self.source.locate(())[0]


class _Builder:
    """Turns a composed node tree into Python values while recording positions."""

    def __init__(self, source: SourceMap, issues: list[Issue]) -> None:
        self.source = source
        self.issues = issues
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag in _KEEP_AS_TEXT or node.tag not in _SCALARS:
            return node.value
        return _SCALARS[node.tag](self._constructor, node)

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        items = []
        for index, child in enumerate(node.value):
            child_path = (*path, index)
            self.source.positions[child_path] = _position(child)
            items.append(self.build(child, child_path))
        return items

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                self.issues.append(self._issue(key_node, path, "keys must be plain scalars"))
                continue
            key = str(key) if not isinstance(key, str) else key
            child_path = (*path, key)
            if key in result and child_path in self.source.positions:
                first = self.source.positions[child_path][0]
                self.issues.append(
                    self._issue(
                        key_node,
                        child_path,
                        f"duplicate key '{key}' (first defined on line {first})",
                        "remove one of them; YAML would silently keep only the last",
                    )
                )
                continue
            self.source.positions[child_path] = _position(key_node)
            result[key] = self.build(value_node, child_path)
        for merge in merges:
            self._merge(result, merge, path)
        return result

    def _merge(self, result: dict[Any, Any], node: yaml.Node, path: KeyPath) -> None:
        """Add the keys of ``<<`` mappings that the mapping does not set itself, wherever the
        merge stands, with the positions of the merged values (in the anchor's lines)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            scratch = _Builder(SourceMap(self.source.file, {}), self.issues)
            merged = scratch.build(source, path)
            if not isinstance(merged, dict):
                self.issues.append(self._issue(source, path, "a '<<' merge needs a mapping"))
                continue
            added = {key for key in merged if key not in result}
            for key in added:
                result[key] = merged[key]
            for where, position in scratch.source.positions.items():
                if len(where) > len(path) and where[len(path)] in added:
                    self.source.positions.setdefault(where, position)

    def _issue(
        self, node: yaml.Node, path: KeyPath, message: str, hint: str | None = None
    ) -> Issue:
        line, column = _position(node)
        return Issue(self.source.file, line, column, format_path(path), message, hint)


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def parse_yaml(
    text: str, file: str, limits: Limits = Limits()
) -> tuple[list[Document], list[Issue]]:
    """Every document of ``text`` with positions; syntax errors and documents over
    ``limits`` (nesting, values once aliases are expanded) become issues."""
    documents: list[Document] = []
    issues: list[Issue] = []
    try:
        for index, node in enumerate(compose_all(text, _Loader, limits)):
            if node is None:
                continue
            source = SourceMap(file, {(): _position(node)})
            data = _Builder(source, issues).build(node, ())
            documents.append(Document(file, index, data, source))
    except LimitExceeded as exc:
        issues.append(Issue(file, exc.line, exc.column, exc.path, exc.message, exc.hint))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        issues.append(
            Issue(file, line, column, "", f"YAML syntax error: {problem}", _yaml_hint(problem))
        )
    except yaml.YAMLError as exc:
        issues.append(Issue(file, 1, 1, "", f"YAML error: {exc}", None))
    return documents, issues


def _yaml_hint(problem: str) -> str:
    if "found character '\\t'" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "{" in problem or "flow" in problem:
        return "a value starting with '{' is a YAML mapping; quote template placeholders"
    return "check the indentation and quoting around this line"


def interpolate(documents: Iterable[Document], env: Mapping[str, str]) -> list[Issue]:
    """Replace ``${VAR}``, ``${VAR:-default}`` and ``$VAR`` in string values from ``env``.

    ``$$`` is a literal ``$``.

    Only values are interpolated, after parsing, so a variable can never change the
    structure of a manifest. An unset variable is an error rather than an empty string.
    """
    issues: list[Issue] = []
    for document in documents:
        document.data = _interpolate_value(document.data, (), document.source, env, issues)
    return issues


def _interpolate_value(
    value: Any, path: KeyPath, source: SourceMap, env: Mapping[str, str], issues: list[Issue]
) -> Any:
    if isinstance(value, str):
        if "$" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1) or match.group(3)
            if name in env:
                return env[name]
            if match.group(2) is not None:
                return match.group(2)
            issues.append(
                source.issue(
                    path,
                    f"environment variable '{name}' is not set",
                    "export it before applying, write $$ for a literal $, "
                    "or use --disable-interpolation",
                )
            )
            return match.group(0)

        result = _VARIABLE.sub(replace, value)
        return _typed(result) if _VARIABLE.fullmatch(value) and value != "$$" else result
    if isinstance(value, dict):
        return {k: _interpolate_value(v, (*path, k), source, env, issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate_value(v, (*path, i), source, env, issues) for i, v in enumerate(value)]
    return value


def _typed(text: str) -> Any:
    """A value that was one whole variable takes the type YAML would give it after textual
    substitution (``port: ${PORT}`` is a number), for plain numbers and booleans only."""
    if _INTEGER.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return {"true": True, "false": False}.get(text, text)


def manifest_files(paths: Iterable[str | Path], recursive: bool) -> tuple[list[Path], list[Issue]]:
    """Expand files and directories (sub-directories only with ``recursive``) to YAML files.

    ``-`` stands for standard input; pipes such as ``/dev/stdin`` are read like files."""
    files: list[Path] = []
    issues: list[Issue] = []
    for raw in paths:
        path = Path(raw)
        if str(raw) == STDIN:
            files.append(path)
        elif path.is_dir():
            pattern: Iterator[Path] = path.rglob("*") if recursive else path.glob("*")
            found = sorted(p for p in pattern if p.is_file() and p.suffix in YAML_SUFFIXES)
            if not found:
                hint = "pass -R to include sub-directories" if not recursive else None
                issues.append(Issue(str(path), 1, 1, "", "no .yaml or .yml files found", hint))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            issues.append(Issue(str(path), 1, 1, "", "no such file or directory", None))
    return files, issues


def _read(file: Path) -> tuple[str, str]:
    """The name issues give ``file`` and its text."""
    if str(file) == STDIN:
        return STDIN_NAME, sys.stdin.read()
    return str(file), file.read_text(encoding="utf-8")


def collect_documents(
    paths: Iterable[str | Path],
    *,
    recursive: bool = False,
    interpolation: bool = True,
    env: Mapping[str, str] | None = None,
) -> tuple[list[Document], list[Issue]]:
    """The documents of every file under ``paths`` that loads cleanly, and the issues of
    those that do not: one broken file does not hide the problems of the others."""
    files, issues = manifest_files(paths, recursive)
    variables = os.environ if env is None else env
    documents: list[Document] = []
    for file in files:
        try:
            name, text = _read(file)
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(str(file), 1, 1, "", f"cannot read file: {exc}", None))
            continue
        found, problems = parse_yaml(text, name)
        if not problems and interpolation:
            problems = interpolate(found, variables)
        issues.extend(problems)
        if not problems:
            documents.extend(found)
    return documents, issues


def load_documents(
    paths: Iterable[str | Path],
    *,
    recursive: bool = False,
    interpolation: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[Document]:
    """All documents under ``paths``; raises :class:`ManifestError` with every issue found."""
    documents, issues = collect_documents(
        paths, recursive=recursive, interpolation=interpolation, env=env
    )
    if issues:
        raise ManifestError(issues)
    return documents
