"""Reminders and notify channels (issue 6): the notice ledger gains its state, term and
due date; the delivery outbox, webhook endpoints, calendar feeds and reminder ladders.

Revision ID: 01b83145b09e
Revises: 7abe709aceea
Create Date: 2026-11-22 02:04:43.916982
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types


revision: str = '01b83145b09e'
down_revision: str | None = '7abe709aceea'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('client_id IS NULL OR user_id IS NULL', name=op.f('ck_calendar_feeds_one_scope')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_calendar_feeds_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('prefix', name=op.f('uq_calendar_feeds_prefix'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_feeds_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_ladders',
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('days', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_reminder_ladders_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_ladders')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_reminder_ladders_scope_key'))
    )
    with op.batch_alter_table('reminder_ladders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_ladders_client_id'), ['client_id'], unique=False)

    op.create_table('webhook_endpoints',
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('secret_changed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_webhook_endpoints_client_id_clients'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_client_id'), ['client_id'], unique=False)

    op.create_table('notice_deliveries',
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.Enum('email', 'webhook', 'digest', name='notice_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('target', sa.String(length=320), nullable=False),
    sa.Column('webhook_endpoint_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'sending', 'sent', 'dead', 'cancelled', name='delivery_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_deliveries_notice_id_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_notice_deliveries_webhook_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_deliveries')),
    sa.UniqueConstraint('message_id', name=op.f('uq_notice_deliveries_message_id')),
    sa.UniqueConstraint('notice_id', 'channel', 'target', name=op.f('uq_notice_deliveries_notice_id_channel_target'))
    )
    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_deliveries_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index('ix_notice_deliveries_state_channel_next_attempt_at', ['state', 'channel', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_deliveries_webhook_endpoint_id'), ['webhook_endpoint_id'], unique=False)

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.Enum('issued', 'skipped', name='notice_state', native_enum=False, create_constraint=True), nullable=False, server_default='issued'))
        batch_op.add_column(sa.Column('days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.String(length=500), nullable=False, server_default=''))
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=7),
               nullable=True)
        batch_op.alter_column('recipient',
               existing_type=sa.VARCHAR(length=320),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_notices_state'), ['state'], unique=False)
        batch_op.create_index('ix_notices_subject_type_subject_id_ends_on', ['subject_type', 'subject_id', 'ends_on'], unique=False)



def downgrade() -> None:
    # The old schema wants a channel and recipient on every notice: keep the ledger (so no
    # reminder is sent twice after a downgrade) with placeholders rather than drop it.
    op.execute("UPDATE notices SET channel = 'digest' WHERE channel IS NULL")
    op.execute("UPDATE notices SET recipient = '' WHERE recipient IS NULL")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_subject_type_subject_id_ends_on')
        batch_op.drop_index(batch_op.f('ix_notices_state'))
        batch_op.alter_column('recipient',
               existing_type=sa.VARCHAR(length=320),
               nullable=False)
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=7),
               nullable=False)
        batch_op.drop_column('summary')
        batch_op.drop_column('ends_on')
        batch_op.drop_column('due_on')
        batch_op.drop_column('days')
        # SQLite's table rebuild would keep the CHECK on the dropped column: drop it first.
        batch_op.drop_constraint(op.f('ck_notices_notice_state'), type_='check')
        batch_op.drop_column('state')

    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_deliveries_webhook_endpoint_id'))
        batch_op.drop_index('ix_notice_deliveries_state_channel_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_notice_deliveries_notice_id'))

    op.drop_table('notice_deliveries')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_client_id'))

    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('reminder_ladders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_ladders_client_id'))

    op.drop_table('reminder_ladders')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_user_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_client_id'))

    op.drop_table('calendar_feeds')
