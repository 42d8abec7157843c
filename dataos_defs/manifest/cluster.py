"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Cluster(ResourceBase):
    KIND: ClassVar[str] = "cluster"
    LEVEL: ClassVar[Level] = "workspace"
    name: StrictName
    type: Literal["cluster"]
    version: Literal["v1"]
    cluster: dict[str, Any]
