"""Caretaker: Service and Worker replicas as processes, and every state they entered.

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None

_ADDED = ("job", "replica", "revision", "run_as", "changed_ms", "uptime_ms")


def _added() -> list[sa.Column[object]]:
    return [
        sa.Column("job", sa.String(255), nullable=True),
        sa.Column("replica", sa.String(255), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("run_as", sa.String(255), nullable=True),
        sa.Column("changed_ms", sa.BigInteger(), nullable=True),
        sa.Column("uptime_ms", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    for column in _added():
        op.add_column("caretaker_processes", column)
    op.create_index(
        "ix_caretaker_processes_resource",
        "caretaker_processes",
        ["workspace", "resource_type", "resource_name"],
    )
    op.create_table(
        "caretaker_process_events",
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        *_added(),
        sa.Column("history_batch", sa.String(40), nullable=True),
        sa.Column("historized_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("node", "state", "at_ms", name="pk_caretaker_process_events"),
    )
    op.create_index(
        "ix_caretaker_process_events_resource",
        "caretaker_process_events",
        ["workspace", "resource_type", "resource_name", "at_ms"],
    )
    op.create_index(
        "ix_caretaker_process_events_historized_ms",
        "caretaker_process_events",
        ["historized_ms"],
    )


def downgrade() -> None:
    op.drop_table("caretaker_process_events")
    op.drop_index("ix_caretaker_processes_resource", table_name="caretaker_processes")
    with op.batch_alter_table("caretaker_processes") as batch:
        for name in _ADDED:
            batch.drop_column(name)
