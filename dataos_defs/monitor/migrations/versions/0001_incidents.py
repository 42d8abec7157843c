"""Incidents and the state of each monitor.

Revision ID: mon0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mon0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_incidents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace", sa.String(255), nullable=False),
        sa.Column("monitor", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(64), nullable=True),
        sa.Column("incident_type", sa.String(255), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_incidents"),
    )
    op.create_index(
        "ix_monitor_incidents_workspace_monitor_state",
        "monitor_incidents",
        ["workspace", "monitor", "state"],
    )
    op.create_index(
        "ix_monitor_incidents_state_resolved_at", "monitor_incidents", ["state", "resolved_at"]
    )
    op.create_table(
        "monitor_states",
        sa.Column("workspace", sa.String(255), nullable=False),
        sa.Column("monitor", sa.String(255), nullable=False),
        sa.Column("holding_since", sa.BigInteger(), nullable=True),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("workspace", "monitor", name="pk_monitor_states"),
    )


def downgrade() -> None:
    op.drop_table("monitor_states")
    op.drop_index("ix_monitor_incidents_state_resolved_at", "monitor_incidents")
    op.drop_index("ix_monitor_incidents_workspace_monitor_state", "monitor_incidents")
    op.drop_table("monitor_incidents")
