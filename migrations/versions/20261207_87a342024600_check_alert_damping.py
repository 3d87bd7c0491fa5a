"""Alerts of checks: flap damping state on each check (consecutive runs of its status, the
last settled status, and the count of transitions told).

Revision ID: 87a342024600
Revises: 2e1b9a9289b8
Create Date: 2026-12-07 09:54:10.295288
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '87a342024600'
down_revision: str | None = '2e1b9a9289b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_runs', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('settled_status', sa.Enum('pending', 'ok', 'warn', 'fail', 'unknown', name='check_settled_status', native_enum=False, create_constraint=True), nullable=True))
        batch_op.add_column(sa.Column('transitions', sa.Integer(), server_default='0', nullable=False))
    # A check that has run already has settled where it stands: upgrading tells nobody of
    # a status that was there before alerts existed.
    op.execute(
        "UPDATE checks SET settled_status = status, status_runs = 1 WHERE status <> 'pending'"
    )


def downgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_checks_check_settled_status'), type_='check')
        batch_op.drop_column('transitions')
        batch_op.drop_column('settled_status')
        batch_op.drop_column('status_runs')
