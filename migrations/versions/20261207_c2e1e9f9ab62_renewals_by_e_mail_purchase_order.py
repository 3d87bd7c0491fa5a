"""Renewals by e-mail purchase order: a route may order by mail (order_by, the distributor's
address, account and price; no ordering connection), and a case may be a renewal's
purchase-order thread (one per renewal, so one per term).

Revision ID: c2e1e9f9ab62
Revises: 5e7a0c1d2b34
Create Date: 2026-12-07 13:05:15.430898
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types

revision: str = "c2e1e9f9ab62"
down_revision: str | None = "5e7a0c1d2b34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("renewal_routes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_by", sa.String(length=10), server_default="api", nullable=False))
        batch_op.add_column(sa.Column("po_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("po_account_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("po_unit_price", hub.kit.types.Money(), nullable=True))
        batch_op.alter_column("order_connection_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_renewal_routes_po_account_id_vendor_accounts"),
            "vendor_accounts",
            ["po_account_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("vendor_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_vendor_cases_renewal_id"), ["renewal_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_vendor_cases_renewal_id_renewals"),
            "renewals",
            ["renewal_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("vendor_cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_vendor_cases_renewal_id_renewals"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_vendor_cases_renewal_id"), type_="unique")
        batch_op.drop_column("renewal_id")

    with op.batch_alter_table("renewal_routes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_renewal_routes_po_account_id_vendor_accounts"), type_="foreignkey"
        )
        batch_op.alter_column("order_connection_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("po_unit_price")
        batch_op.drop_column("po_account_id")
        batch_op.drop_column("po_email")
        batch_op.drop_column("order_by")
