"""Coverage snapshots (`coverage_snapshots`): one row of coverage figures per client per
day, for the quarterly business review.

Revision ID: 5e7a0c1d2b34
Revises: 0326f6b0a103
Create Date: 2026-12-07 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types

revision: str = "5e7a0c1d2b34"
down_revision: str | None = "0326f6b0a103"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coverage_snapshots",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("taken_at", hub.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_coverage_snapshots_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_snapshots")),
        sa.UniqueConstraint("client_id", "day", name=op.f("uq_coverage_snapshots_client_id_day")),
    )


def downgrade() -> None:
    op.drop_table("coverage_snapshots")
