"""Vendor sync: vendor records, tenant mappings, discrepancies, the shared OAuth token
cache, and when each secret of a connection's config was last set.

Revision ID: 2386dbfd8db8
Revises: 30acc0fb9cf4
Create Date: 2026-11-22 02:10:48.860042
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types


revision: str = '2386dbfd8db8'
down_revision: str | None = '30acc0fb9cf4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_tokens',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('token_encrypted', sa.Text(), nullable=True),
    sa.Column('token_sha256', sa.String(length=64), nullable=True),
    sa.Column('expires_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('obtained_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_oauth_tokens'))
    )
    op.create_table('discrepancies',
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.Enum('seats_over_paid', 'end_date_mismatch', 'quantity_mismatch', name='discrepancy_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('record_kind', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('tenant_external_id', sa.String(length=200), nullable=True),
    sa.Column('subject_type', sa.String(length=40), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('hub_value', sa.String(length=200), nullable=True),
    sa.Column('vendor_value', sa.String(length=200), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('first_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_discrepancies_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_discrepancies_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discrepancies')),
    sa.UniqueConstraint('connection_id', 'kind', 'record_kind', 'external_id', name=op.f('uq_discrepancies_connection_id_kind_record_kind_external_id'))
    )
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.create_index('ix_discrepancies_client_id_resolved_at', ['client_id', 'resolved_at'], unique=False)

    op.create_table('tenant_mappings',
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('mapped_by', sa.Enum('external_ref', 'account_number', 'domain', 'connection', 'manual', name='mapped_by', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('first_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('missing_since', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_tenant_mappings_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_tenant_mappings_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_mappings')),
    sa.UniqueConstraint('connection_id', 'external_id', name=op.f('uq_tenant_mappings_connection_id_external_id'))
    )
    with op.batch_alter_table('tenant_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_mappings_client_id'), ['client_id'], unique=False)

    op.create_table('vendor_records',
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('tenant_external_id', sa.String(length=200), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('missing_since', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_vendor_records_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_vendor_records_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_records')),
    sa.UniqueConstraint('connection_id', 'kind', 'external_id', name=op.f('uq_vendor_records_connection_id_kind_external_id'))
    )
    with op.batch_alter_table('vendor_records', schema=None) as batch_op:
        batch_op.create_index('ix_vendor_records_client_id_kind', ['client_id', 'kind'], unique=False)

    with op.batch_alter_table('connections', schema=None) as batch_op:
        # Existing connections get an empty map (no per-field times known yet).
        batch_op.add_column(
            sa.Column('secrets_changed_at', sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('secrets_changed_at')

    with op.batch_alter_table('vendor_records', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_records_client_id_kind')

    op.drop_table('vendor_records')
    with op.batch_alter_table('tenant_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_mappings_client_id'))

    op.drop_table('tenant_mappings')
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index('ix_discrepancies_client_id_resolved_at')

    op.drop_table('discrepancies')
    op.drop_table('oauth_tokens')
