"""An index on renewals.submitted_at: a quote sums the day's committed spend (the daily
caps), which without it read every renewal ever confirmed (the state index), a cost
that grew with the hub's whole history.

Revision ID: 7d3b9e51a2c8
Revises: 5a7e2c41d0b3
Create Date: 2026-12-07 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7d3b9e51a2c8"
down_revision: str | None = "5a7e2c41d0b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_renewals_submitted_at", "renewals", ["submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_renewals_submitted_at", table_name="renewals")
