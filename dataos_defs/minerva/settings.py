"""Minerva settings from the environment.

``DATAOS_MINERVA_PG_TTL_SECONDS`` (default 30): how old a PostgreSQL table loaded into the
embedded engine may get before the next query that reads it reloads it. Queries may
therefore see PostgreSQL data up to that many seconds old; 0 reloads on every query.

``DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS`` (default 1): how often a query looks for a new
snapshot of an Iceberg table it reads (reading the table's metadata costs about 2 ms). A
snapshot committed less than that long ago may not be seen yet; 0 checks on every query.

``DATAOS_MINERVA_<CLUSTER>_URL`` (e.g. ``DATAOS_MINERVA_MINERVASHOP_URL=http://trino:8080``):
the coordinator of a real Trino serving the cluster. Where a cluster runs is deployment, not
intent, so it is not written in the manifest (as a Kubernetes Service's address is not
written in the Deployment that backs it); a cluster without one runs embedded. The URL may
carry the user (``https://gateway@trino:8443``); ``DATAOS_MINERVA_<CLUSTER>_PASSWORD``
adds a password (HTTPS only).

``DATAOS_MINERVA_DEFAULT_CLUSTER`` (e.g. ``minervashop``): the cluster that runs the queries
no cluster's ``selector`` matches and that name no cluster. Which cluster everybody lands on
is an operator's decision, not a tenant's, so it is set here rather than in a manifest
(routing.py). Unset, such queries are refused, with a hint to name a cluster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PG_TTL_ENV = "DATAOS_MINERVA_PG_TTL_SECONDS"
DEFAULT_PG_TTL_SECONDS = 30.0
LAKEHOUSE_CHECK_ENV = "DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS"
DEFAULT_LAKEHOUSE_CHECK_SECONDS = 1.0
DEFAULT_CLUSTER_ENV = "DATAOS_MINERVA_DEFAULT_CLUSTER"


@dataclass(frozen=True)
class MinervaSettings:
    pg_ttl_seconds: float = DEFAULT_PG_TTL_SECONDS
    lakehouse_check_seconds: float = DEFAULT_LAKEHOUSE_CHECK_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MinervaSettings:
        env = os.environ if environ is None else environ
        return cls(
            pg_ttl_seconds=_seconds(env, PG_TTL_ENV, DEFAULT_PG_TTL_SECONDS),
            lakehouse_check_seconds=_seconds(
                env, LAKEHOUSE_CHECK_ENV, DEFAULT_LAKEHOUSE_CHECK_SECONDS
            ),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def default_cluster(environ: Mapping[str, str] | None = None) -> str | None:
    """The cluster named by ``DATAOS_MINERVA_DEFAULT_CLUSTER`` (lower case), or None."""
    env = os.environ if environ is None else environ
    return env.get(DEFAULT_CLUSTER_ENV, "").strip().lower() or None


def trino_url_env(cluster: str) -> str:
    return f"DATAOS_MINERVA_{cluster.upper()}_URL"


def trino_password_env(cluster: str) -> str:
    return f"DATAOS_MINERVA_{cluster.upper()}_PASSWORD"


def trino_endpoint(
    cluster: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str | None] | None:
    """``(url, password)`` of the Trino serving ``cluster``, or None to run it embedded."""
    env = os.environ if environ is None else environ
    url = env.get(trino_url_env(cluster), "").strip()
    if not url:
        return None
    return url, env.get(trino_password_env(cluster)) or None
