"""covering indexes for the upcoming renewals window

Revision ID: 49787fe520a7
Revises: 228e9e15051d
Create Date: 2026-11-22 00:17:55.235686
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.money
import hub.kit.types


revision: str = '49787fe520a7'
down_revision: str | None = '228e9e15051d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domains_expires_on'))
        batch_op.create_index('ix_domains_expires_on_client_id', ['expires_on', 'client_id'], unique=False)

    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endpoints_expires_on'))
        batch_op.create_index('ix_endpoints_expires_on_client_id', ['expires_on', 'client_id'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_ends_on'))
        batch_op.create_index('ix_subscriptions_ends_on_status_client_id', ['ends_on', 'status', 'client_id'], unique=False)

    with op.batch_alter_table('warranties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warranties_ends_on'))
        batch_op.create_index('ix_warranties_ends_on_client_id', ['ends_on', 'client_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('warranties', schema=None) as batch_op:
        batch_op.drop_index('ix_warranties_ends_on_client_id')
        batch_op.create_index(batch_op.f('ix_warranties_ends_on'), ['ends_on'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_ends_on_status_client_id')
        batch_op.create_index(batch_op.f('ix_subscriptions_ends_on'), ['ends_on'], unique=False)

    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_endpoints_expires_on_client_id')
        batch_op.create_index(batch_op.f('ix_endpoints_expires_on'), ['expires_on'], unique=False)

    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.drop_index('ix_domains_expires_on_client_id')
        batch_op.create_index(batch_op.f('ix_domains_expires_on'), ['expires_on'], unique=False)

