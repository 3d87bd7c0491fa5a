"""Link proposals: sync's suggestions that an unlinked hub subscription is a vendor
subscription a connection lists, kept until a technician accepts or rejects them (a
rejected pair stays, so that it is never proposed again).

Revision ID: 72902e19215b
Revises: 471605a7204d
Create Date: 2026-12-07 07:13:31.957570
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types

revision: str = '72902e19215b'
down_revision: str | None = '471605a7204d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('link_proposals',
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('record_kind', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('open', 'accepted', 'rejected', 'superseded', name='proposal_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('last_proposed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_link_proposals_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_link_proposals_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_link_proposals_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_proposals')),
    sa.UniqueConstraint('subscription_id', 'connection_id', 'external_id', name=op.f('uq_link_proposals_subscription_id_connection_id_external_id'))
    )
    with op.batch_alter_table('link_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_proposals_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index('ix_link_proposals_state_client_id', ['state', 'client_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('link_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_link_proposals_state_client_id')
        batch_op.drop_index(batch_op.f('ix_link_proposals_connection_id'))

    op.drop_table('link_proposals')
