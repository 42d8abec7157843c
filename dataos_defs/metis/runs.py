"""Pipeline runs (``PUT /pipelines/{fqn}/status``): one row per run timestamp, kept apart
from the pipeline's versions, as OpenMetadata keeps them (a run is not a change of the
pipeline). A status sent again for the same timestamp replaces it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, insert, select

from dataos_defs.metis.entities import PipelineStatus
from dataos_defs.metis.schema import pipeline_status
from dataos_defs.poros.db import write_transaction

MAX_RUNS_LISTED = 1000


def record(engine: Engine, pipeline_id: str, status: PipelineStatus) -> None:
    body = status.model_dump(mode="json", exclude_none=True)
    with write_transaction(engine) as conn:
        conn.execute(
            delete(pipeline_status).where(
                pipeline_status.c.pipeline_id == pipeline_id,
                pipeline_status.c.timestamp == status.timestamp,
            )
        )
        conn.execute(
            insert(pipeline_status).values(
                pipeline_id=pipeline_id, timestamp=status.timestamp, body=body
            )
        )


def latest(engine: Engine, pipeline_id: str) -> dict[str, Any] | None:
    query = (
        select(pipeline_status.c.body)
        .where(pipeline_status.c.pipeline_id == pipeline_id)
        .order_by(pipeline_status.c.timestamp.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        body: dict[str, Any] | None = conn.execute(query).scalar()
    return body


def between(engine: Engine, pipeline_id: str, start: int, end: int) -> list[dict[str, Any]]:
    """Runs with ``start <= timestamp <= end``, newest first (at most :data:`MAX_RUNS_LISTED`)."""
    query = (
        select(pipeline_status.c.body)
        .where(
            pipeline_status.c.pipeline_id == pipeline_id,
            pipeline_status.c.timestamp >= start,
            pipeline_status.c.timestamp <= end,
        )
        .order_by(pipeline_status.c.timestamp.desc())
        .limit(MAX_RUNS_LISTED)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
