"""Who is calling: the seam Heimdall plugs into.

Every route depends on :func:`current_identity`. Until Heimdall authenticates API keys,
each request is served as the bootstrap operator; the dependency is the one place that
changes when authentication arrives, so no route reads headers itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOOTSTRAP_OPERATOR = "dataos-operator"


@dataclass(frozen=True)
class Identity:
    user_id: str
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        return f"users:id:{self.user_id}"


def bootstrap_operator() -> Identity:
    return Identity(
        BOOTSTRAP_OPERATOR,
        (f"users:id:{BOOTSTRAP_OPERATOR}", "roles:id:operator", "roles:id:system-dev"),
    )


def current_identity() -> Identity:
    """The calling identity (bootstrap operator until API-key authentication lands)."""
    return bootstrap_operator()
