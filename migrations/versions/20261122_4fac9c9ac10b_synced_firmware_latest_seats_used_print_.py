"""Facts sync could not store before: the newest firmware the vendor offers an asset,
the seats a licence uses on its subscription, and a printer plan's pay-per-print allowance
(with the first counter reading of the term, kept by sync).

Revision ID: 4fac9c9ac10b
Revises: 01b83145b09e
Create Date: 2026-11-22 03:02:18.009924
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4fac9c9ac10b'
down_revision: str | None = '01b83145b09e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('firmware_latest', sa.String(length=80), nullable=True))

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats_used', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('print_allowance', sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_subscriptions_seats_used_not_negative'), 'seats_used IS NULL OR seats_used >= 0'
        )


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_subscriptions_seats_used_not_negative'), type_='check')
        batch_op.drop_column('print_allowance')
        batch_op.drop_column('seats_used')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('firmware_latest')
