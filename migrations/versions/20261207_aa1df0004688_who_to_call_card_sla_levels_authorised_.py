"""Who-to-call card: the vendors' SLA levels, and per vendor account the support level its
contract buys and the client contacts who may authorise changes.

Revision ID: aa1df0004688
Revises: 87a342024600
Create Date: 2026-12-07 09:55:58.973223
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "aa1df0004688"
down_revision: str | None = "87a342024600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vendor_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("authorised_contact_ids", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("support_level", sa.String(length=120), nullable=True))

    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_levels", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.drop_column("sla_levels")

    with op.batch_alter_table("vendor_accounts", schema=None) as batch_op:
        batch_op.drop_column("support_level")
        batch_op.drop_column("authorised_contact_ids")
