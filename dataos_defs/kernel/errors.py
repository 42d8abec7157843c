"""The error the kernel mapping raises: what is wrong, where to fix it, and how."""

from __future__ import annotations


class KernelError(Exception):
    """The desired state cannot be built into a kernel model.

    ``where`` names what to change: a key path of the settings file (``nodePools.gpu.max``)
    or a Resource (``compute gpu-training``, ``service shop/orders-api``).
    """

    def __init__(self, message: str, where: str, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text
