"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Pager(ResourceBase):
    KIND: ClassVar[str] = "pager"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["pager"]
    version: Literal["v1alpha"]
    pager: dict[str, Any]
