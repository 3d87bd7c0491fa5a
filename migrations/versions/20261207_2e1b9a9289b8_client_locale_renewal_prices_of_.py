"""The client's locale (its reports' numbers, dates and labels: issue 11 §6) and what
renewing a warranty or a domain costs, with who pays it (the forecast covers them: §8).

Revision ID: 2e1b9a9289b8
Revises: bc1202380ab9
Create Date: 2026-12-07 07:43:49.393110
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.money

revision: str = '2e1b9a9289b8'
down_revision: str | None = 'bc1202380ab9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYERS = ('client_direct', 'msp_resold', 'msp_included')


def _renewal_columns(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewal_price', hub.kit.money.Money(), nullable=True))
        batch_op.add_column(sa.Column('renewal_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column(
                'renewal_payer',
                sa.Enum(*PAYERS, name='renewal_payer', native_enum=False, create_constraint=True),
                server_default='msp_resold',
                nullable=False,
            )
        )


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))
    _renewal_columns('domains')
    _renewal_columns('warranties')


def downgrade() -> None:
    for table in ('warranties', 'domains'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            # The enum's CHECK first: SQLite's table copy would keep it naming a gone column.
            batch_op.drop_constraint(op.f(f'ck_{table}_renewal_payer'), type_='check')
            batch_op.drop_column('renewal_payer')
            batch_op.drop_column('renewal_currency')
            batch_op.drop_column('renewal_price')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('locale')
