"""automatic renewal executor

Revision ID: 7abe709aceea
Revises: 2386dbfd8db8
Create Date: 2026-11-22 02:10:27.963287
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.money
import hub.kit.types


revision: str = "7abe709aceea"
down_revision: str | None = "2386dbfd8db8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "renewal_controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("paused_at", hub.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("price_cap_pct", hub.kit.money.Money(), nullable=False),
        sa.Column("approval_above", hub.kit.money.Money(), nullable=True),
        sa.Column("client_daily_cap", hub.kit.money.Money(), nullable=True),
        sa.Column("msp_daily_cap", hub.kit.money.Money(), nullable=True),
        sa.Column("cap_currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", hub.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_controls")),
    )
    # The single switchboard row: not paused, 14 days' lead, a 10 % price cap (as Money
    # ten-thousandths), no spend caps.
    op.execute(
        "INSERT INTO renewal_controls (id, paused, lead_days, price_cap_pct, cap_currency) "
        "VALUES (1, false, 14, 100000, 'EUR')"
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_policy", sa.JSON(), nullable=False, server_default="{}"))

    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connection_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("previous_unit_cost", hub.kit.money.Money(), nullable=True))
        batch_op.add_column(sa.Column("quoted_total", hub.kit.money.Money(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("next_action_at", hub.kit.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("send_not_after", hub.kit.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reconcile_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("new_term_ends_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("escalated_at", hub.kit.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_renewals_state_next_action_at", ["state", "next_action_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_renewals_connection_id_connections"),
            "connections",
            ["connection_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_renewals_connection_id_connections"), type_="foreignkey")
        batch_op.drop_index("ix_renewals_state_next_action_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("new_term_ends_on")
        batch_op.drop_column("reconcile_attempts")
        batch_op.drop_column("send_not_after")
        batch_op.drop_column("next_action_at")
        batch_op.drop_column("reason")
        batch_op.drop_column("quoted_total")
        batch_op.drop_column("previous_unit_cost")
        batch_op.drop_column("quantity")
        batch_op.drop_column("connection_id")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("renewal_policy")

    op.drop_table("renewal_controls")
