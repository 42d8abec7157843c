"""Time as the monitors keep it: epoch milliseconds (UTC)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
