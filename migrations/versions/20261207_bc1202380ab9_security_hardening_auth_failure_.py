"""Security hardening (issue 11 §7.8): failed-authentication counters shared by every API
process, an expiry for calendar feeds, and the API tokens' `scopes` column dropped (nothing
ever enforced it; the role and the client binding are what a token may do).

Revision ID: bc1202380ab9
Revises: 445dbafd8dfb
Create Date: 2026-12-07 07:24:31.248805
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types

revision: str = 'bc1202380ab9'
down_revision: str | None = '445dbafd8dfb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'auth_failures',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('window_start', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_auth_failures')),
    )
    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_failures_window_start'), ['window_start'], unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('scopes')

    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_failures_window_start'))

    op.drop_table('auth_failures')
