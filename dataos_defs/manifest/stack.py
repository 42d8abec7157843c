"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Stack(ResourceBase):
    KIND: ClassVar[str] = "stack"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["stack"]
    version: Literal["v1alpha"]
    stack: dict[str, Any]
