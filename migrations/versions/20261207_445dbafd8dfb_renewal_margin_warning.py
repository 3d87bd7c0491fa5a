"""The margin check of a renewal quote: the warning stored on the renewal, and the
switchboard's policy switch (a resold item quoted above the client's price waits for
approval; on by default).

Revision ID: 445dbafd8dfb
Revises: 8093447d3cd1
Create Date: 2026-12-07 08:02:11.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '445dbafd8dfb'
down_revision: str | None = '8093447d3cd1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('renewal_controls', schema=None) as batch_op:
        # The existing switchboard row gets the default.
        batch_op.add_column(
            sa.Column('approve_negative_margin', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('margin_warning', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.drop_column('margin_warning')
    with op.batch_alter_table('renewal_controls', schema=None) as batch_op:
        batch_op.drop_column('approve_negative_margin')
