"""Renewals a person closes with an outcome: the state `resolved` and its `resolution`
(renewed outside the hub, or will not renew).

Revision ID: 8093447d3cd1
Revises: 72902e19215b
Create Date: 2026-12-07 07:36:05.200335
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8093447d3cd1'
down_revision: str | None = '72902e19215b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = (
    'planned', 'awaiting_approval', 'approved', 'submitting', 'confirmed', 'rejected', 'unknown',
    'reconciling', 'escalated', 'declined',
)

def upgrade() -> None:
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution', sa.Enum('renewed_outside', 'will_not_renew', name='renewal_resolution', native_enum=False, create_constraint=True), nullable=True))
        # The state's CHECK constraint names the states: it gets the new one.
        batch_op.drop_constraint(op.f('ck_renewals_renewal_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_renewals_renewal_state'), sa.column('state').in_([*_STATES, 'resolved']))

def downgrade() -> None:
    op.execute("UPDATE renewals SET state = 'declined' WHERE state = 'resolved'")
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_renewals_renewal_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_renewals_renewal_state'), sa.column('state').in_(_STATES))
        batch_op.drop_constraint(op.f('ck_renewals_renewal_resolution'), type_='check')
        batch_op.drop_column('resolution')
