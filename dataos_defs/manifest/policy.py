"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Policy(ResourceBase):
    KIND: ClassVar[str] = "policy"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["policy"]
    version: Literal["v1"]
    policy: dict[str, Any]
