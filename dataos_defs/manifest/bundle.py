"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Bundle(ResourceBase):
    KIND: ClassVar[str] = "bundle"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["bundle"]
    version: Literal["v1beta", "v1alpha"]
    bundle: dict[str, Any]
