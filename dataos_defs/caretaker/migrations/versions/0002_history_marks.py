"""Caretaker: mark the runs claimed by, and written to, the Parquet history.

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("caretaker_runs") as batch:
        batch.add_column(sa.Column("history_batch", sa.String(40), nullable=True))
        batch.add_column(sa.Column("historized_ms", sa.BigInteger(), nullable=True))
    op.create_index("ix_caretaker_runs_historized_ms", "caretaker_runs", ["historized_ms"])


def downgrade() -> None:
    op.drop_index("ix_caretaker_runs_historized_ms", table_name="caretaker_runs")
    with op.batch_alter_table("caretaker_runs") as batch:
        batch.drop_column("historized_ms")
        batch.drop_column("history_batch")
