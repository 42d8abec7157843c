"""Caretaker's live state: runs, steps, processes and their state transitions.

Revision ID: c0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None


def _resource() -> list[sa.Column[str]]:
    return [
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_name", sa.String(255), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "caretaker_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        *_resource(),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("run_as", sa.String(255), nullable=True),
        sa.Column("dagster_job", sa.String(255), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_caretaker_runs"),
    )
    op.create_index(
        "ix_caretaker_runs_resource",
        "caretaker_runs",
        ["workspace", "resource_type", "resource_name", "created_ms"],
    )
    op.create_index("ix_caretaker_runs_created_ms", "caretaker_runs", ["created_ms"])
    op.create_index("ix_caretaker_runs_state", "caretaker_runs", ["state"])
    op.create_table(
        "caretaker_steps",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        *_resource(),
        sa.Column("compute", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "job", name="pk_caretaker_steps"),
    )
    op.create_index("ix_caretaker_steps_started_ms", "caretaker_steps", ["started_ms"])
    op.create_index("ix_caretaker_steps_state", "caretaker_steps", ["state"])
    op.create_table(
        "caretaker_processes",
        sa.Column("node", sa.String(255), nullable=False),
        *_resource(),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node", name="pk_caretaker_processes"),
    )
    op.create_index("ix_caretaker_processes_state", "caretaker_processes", ["state"])
    op.create_index("ix_caretaker_processes_run_id", "caretaker_processes", ["run_id"])
    op.create_table(
        "caretaker_transitions",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "job", "state", "at_ms", name="pk_caretaker_transitions"),
    )


def downgrade() -> None:
    op.drop_table("caretaker_transitions")
    op.drop_table("caretaker_processes")
    op.drop_table("caretaker_steps")
    op.drop_table("caretaker_runs")
