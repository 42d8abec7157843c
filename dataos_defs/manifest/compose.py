"""Compose YAML into nodes from the event stream, refusing alias bombs and deep nesting.

PyYAML's composer recurses once per nesting level (libyaml's in C, where a deep enough
document overflows the stack) and its nodes share aliased subtrees, so a few hundred bytes
of aliases expand to billions of values once turned into Python objects. This composer
keeps its own stack and counts, while composing, the nodes each alias will expand to and
the depth the expansion reaches, stopping at the first node over :class:`Limits`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from dataos_defs.manifest.errors import format_path

MAX_DEPTH = 100
"""Nesting levels of one document, aliases expanded; real manifests use fewer than 20."""
MAX_NODES = 500_000
"""Values of one file, aliases expanded: a 1 MiB manifest without aliases stays below."""
_PATH_SHOWN = 12
Mark = Any
"""A position in the text: ``yaml.Mark``, or libyaml's own class when it composes."""


@dataclass(frozen=True)
class Limits:
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES


class LimitExceeded(Exception):
    """A document over :class:`Limits`, at the node where the limit was crossed."""

    def __init__(self, mark: Mark, path: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1
        self.column = mark.column + 1
        self.path = path
        self.message = message
        self.hint = hint


@dataclass
class _Frame:
    """A collection being composed: its node, the pending key of a mapping, its counts."""

    node: yaml.SequenceNode | yaml.MappingNode
    anchor: str | None
    key: yaml.Node | None = None
    size: int = 1
    height: int = 1
    children: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class _Anchored:
    node: yaml.Node
    size: int
    height: int


class _Composer:
    def __init__(self, loader: Any, limits: Limits) -> None:
        self.loader = loader
        self.limits = limits
        self.expanded = 0
        self.anchors: dict[str, _Anchored] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []

    def documents(self) -> Iterator[yaml.Node]:
        self.loader.get_event()  # StreamStart
        while not self.loader.check_event(yaml.StreamEndEvent):
            self.loader.get_event()  # DocumentStart
            self.anchors = {}
            yield self._document()
            self.loader.get_event()  # DocumentEnd

    def _document(self) -> yaml.Node:
        while True:
            event = self.loader.get_event()
            done = self._event(event)
            if done is not None:
                return done

    def _event(self, event: Any) -> yaml.Node | None:
        """Feed one event; the document's root node once it is complete."""
        if isinstance(event, yaml.AliasEvent):
            return self._add(*self._alias(event))
        if isinstance(event, yaml.ScalarEvent):
            return self._add(self._scalar(event), 1, 1)
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            self._open(event)
            return None
        return self._close(event)

    def _scalar(self, event: Any) -> yaml.ScalarNode:
        tag = self._tag(yaml.ScalarNode, event.tag, event.value, event.implicit)
        node = yaml.ScalarNode(
            tag, event.value, event.start_mark, event.end_mark, style=event.style
        )
        self._count(1, len(self.stack) + 1, event.start_mark)
        self._remember(event.anchor, node, 1, 1)
        return node

    def _tag(self, kind: type[yaml.Node], tag: str | None, value: Any, implicit: Any) -> str:
        if tag is None or tag == "!":
            return str(self.loader.resolve(kind, value, implicit))
        return tag

    def _open(self, event: Any) -> None:
        kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
        tag = self._tag(kind, event.tag, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self._check_duplicate(event.anchor, event.start_mark)
            self.open_anchors.add(event.anchor)
        self._count(1, len(self.stack) + 1, event.start_mark)
        self.stack.append(_Frame(node, event.anchor))

    def _close(self, event: Any) -> yaml.Node | None:
        frame = self.stack.pop()
        frame.node.end_mark = event.end_mark
        frame.node.value = frame.children
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self._remember(frame.anchor, frame.node, frame.size, frame.height)
        return self._add(frame.node, frame.size, frame.height)

    def _alias(self, event: Any) -> tuple[yaml.Node, int, int]:
        name = event.anchor
        if name in self.open_anchors:
            raise yaml.composer.ComposerError(
                None, None, f"alias *{name} refers to the node that contains it", event.start_mark
            )
        if name not in self.anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias '{name}'", event.start_mark
            )
        anchored = self.anchors[name]
        self._count(anchored.size, len(self.stack) + anchored.height, event.start_mark)
        return anchored.node, anchored.size, anchored.height

    def _add(self, node: yaml.Node, size: int, height: int) -> yaml.Node | None:
        if not self.stack:
            return node
        frame = self.stack[-1]
        frame.size += size
        frame.height = max(frame.height, height + 1)
        if isinstance(frame.node, yaml.SequenceNode):
            frame.children.append(node)
        elif frame.key is None:
            frame.key = node
        else:
            frame.children.append((frame.key, node))
            frame.key = None
        return None

    def _remember(self, anchor: str | None, node: yaml.Node, size: int, height: int) -> None:
        if anchor is None:
            return
        self._check_duplicate(anchor, node.start_mark)
        self.anchors[anchor] = _Anchored(node, size, height)

    def _check_duplicate(self, anchor: str, mark: Mark) -> None:
        if anchor in self.anchors:
            first = self.anchors[anchor].node.start_mark.line + 1
            raise yaml.composer.ComposerError(
                None, None, f"found duplicate anchor '{anchor}' (first on line {first})", mark
            )

    def _count(self, size: int, depth: int, mark: Mark) -> None:
        self.expanded += size
        if depth > self.limits.max_depth:
            raise LimitExceeded(
                mark,
                self._path(),
                f"nested deeper than {self.limits.max_depth} levels (aliases expanded)",
                "flatten the structure; manifests are rarely more than 20 levels deep",
            )
        if self.expanded > self.limits.max_nodes:
            raise LimitExceeded(
                mark,
                self._path(),
                f"more than {self.limits.max_nodes} values once aliases are expanded",
                "aliases (*name) copy their anchor each time; write the values out or "
                "split the file",
            )

    def _path(self) -> str:
        """The key path of the node being composed, as far as its keys are plain scalars."""
        parts: list[str | int] = []
        for frame in self.stack:
            if isinstance(frame.node, yaml.SequenceNode):
                parts.append(len(frame.children))
            elif isinstance(frame.key, yaml.ScalarNode):
                parts.append(str(frame.key.value))
            else:
                break
        if len(parts) > _PATH_SHOWN:
            return format_path(parts[:_PATH_SHOWN]) + "..."
        return format_path(parts)


def compose_all(text: str, loader_class: type[Any], limits: Limits) -> Iterator[yaml.Node]:
    """Like :func:`yaml.compose_all`, raising :class:`LimitExceeded` past ``limits``."""
    loader = loader_class(text)
    try:
        yield from _Composer(loader, limits).documents()
    finally:
        loader.dispose()
