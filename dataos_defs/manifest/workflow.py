"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Workflow(ResourceBase):
    KIND: ClassVar[str] = "workflow"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["workflow"]
    version: Literal["v1", "v1beta"]
    workflow: dict[str, Any]
