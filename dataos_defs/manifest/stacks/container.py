"""``stackSpec`` of the ``container`` and ``alpha`` stacks: run any image."""

from __future__ import annotations

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import StackSpecBase, Text


class ContainerSpec(StackSpecBase):
    """An image and how to start it; environment variables go in the spec's ``envs``."""

    image: str
    imagePullSecret: str | None = None
    command: list[Text] | None = None
    arguments: list[Text] | None = None

    def references(self, path: KeyPath) -> list[Reference]:
        """The pull secret is a Secret of the workload's workspace."""
        if not self.imagePullSecret:
            return []
        return [Reference("secret", self.imagePullSecret, None, (*path, "imagePullSecret"))]
