"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Lakehouse(ResourceBase):
    KIND: ClassVar[str] = "lakehouse"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["lakehouse"]
    version: Literal["v1alpha"]
    lakehouse: dict[str, Any]
