"""initial schema

Revision ID: 228e9e15051d
Revises: 
Create Date: 2026-11-21 23:40:32.481641
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.money
import hub.kit.types

revision: str = '228e9e15051d'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('occurred_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.Enum('create', 'update', 'delete', 'archive', 'restore', 'reveal_secret', 'import', 'vendor_action', name='audit_action', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('subject_type', sa.String(length=60), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_subject_type_subject_id', ['subject_type', 'subject_id'], unique=False)

    op.create_table('users',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'technician', 'client_viewer', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('oidc_subject', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(role = 'client_viewer') = (client_id IS NOT NULL)", name=op.f('ck_users_viewer_has_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('oidc_subject', name=op.f('uq_users_oidc_subject'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_client_id'), ['client_id'], unique=False)

    op.create_table('vendors',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.Enum('isp', 'mail_hosting', 'dns_hosting', 'registrar', 'firewall', 'antivirus', 'printer', 'hardware', 'telephony', 'software', 'backup', 'cloud', 'distributor', 'other', name='vendor_category', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('support_channels', sa.JSON(), nullable=False),
    sa.Column('default_response_sla_hours', sa.Integer(), nullable=True),
    sa.Column('escalation_levels', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendors')),
    sa.UniqueConstraint('name', name=op.f('uq_vendors_name'))
    )
    with op.batch_alter_table('vendors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendors_category'), ['category'], unique=False)

    op.create_table('clients',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Enum('onboarding', 'active', 'archived', name='client_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('tier', sa.Enum('good', 'better', 'best', name='service_tier', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('default_currency', sa.String(length=3), nullable=False),
    sa.Column('owner_user_id', sa.Uuid(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('archived_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_clients_owner_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('slug', name=op.f('uq_clients_slug'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_status'), ['status'], unique=False)

    # users.client_id and clients.owner_user_id refer to each other: the second key is
    # added once both tables exist.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_users_client_id_clients'), 'clients', ['client_id'], ['id'], ondelete='RESTRICT')

    op.create_table('api_tokens',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('admin', 'technician', 'client_viewer', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('last_used_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(role = 'client_viewer') = (client_id IS NOT NULL)", name=op.f('ck_api_tokens_viewer_has_client')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_api_tokens_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_client_id'), ['client_id'], unique=False)

    op.create_table('checks',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.Enum('domain', 'endpoint', 'asset', 'ip', name='check_target', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('target_ref', sa.String(length=300), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('interval_seconds', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'ok', 'warn', 'fail', 'unknown', name='check_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status_changed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_run_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_checks_client_id_clients'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checks')),
    sa.UniqueConstraint('kind', 'target_type', 'target_ref', name=op.f('uq_checks_kind_target_type_target_ref'))
    )
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checks_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checks_next_run_at'), ['next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checks_status'), ['status'], unique=False)

    op.create_table('connections',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('adapter_slug', sa.String(length=80), nullable=False),
    sa.Column('scope', sa.Enum('msp', 'client', name='connection_scope', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('account_ref', sa.String(length=200), nullable=False),
    sa.Column('config_encrypted', sa.Text(), nullable=False),
    sa.Column('config_changed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('health', sa.Enum('unknown', 'ok', 'degraded', 'needs_reauth', 'misconfigured', name='connection_health', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('last_success_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_sync_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(scope = 'client') = (client_id IS NOT NULL)", name=op.f('ck_connections_client_scope_has_client')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_connections_client_id_clients'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('adapter_slug', 'account_ref', name=op.f('uq_connections_adapter_slug_account_ref'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_adapter_slug'), ['adapter_slug'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_client_id'), ['client_id'], unique=False)

    op.create_table('contacts',
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('vendor_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(client_id IS NULL) <> (vendor_id IS NULL)', name=op.f('ck_contacts_belongs_to_client_or_vendor')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contacts_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_contacts_vendor_id_vendors'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('client_id', 'vendor_id', 'email', name=op.f('uq_contacts_client_id_vendor_id_email'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('notices',
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('threshold', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.Enum('email', 'webhook', 'digest', name='notice_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_notices_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('subject_type', 'subject_id', 'threshold', name=op.f('uq_notices_subject_type_subject_id_threshold'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_client_id'), ['client_id'], unique=False)

    op.create_table('vendor_accounts',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('vendor_id', sa.Uuid(), nullable=False),
    sa.Column('account_number', sa.String(length=100), nullable=False),
    sa.Column('contract_number', sa.String(length=100), nullable=True),
    sa.Column('support_pin_encrypted', sa.Text(), nullable=True),
    sa.Column('support_pin_changed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('account_holder', sa.String(length=200), nullable=True),
    sa.Column('authorised_by', sa.String(length=300), nullable=True),
    sa.Column('notice_email', sa.String(length=320), nullable=True),
    sa.Column('external_ref', sa.String(length=200), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_vendor_accounts_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_vendor_accounts_vendor_id_vendors'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_accounts')),
    sa.UniqueConstraint('client_id', 'vendor_id', 'account_number', name=op.f('uq_vendor_accounts_client_id_vendor_id_account_number'))
    )
    with op.batch_alter_table('vendor_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_accounts_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_accounts_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('assets',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('firewall', 'printer', 'server', 'switch', 'ap', 'nas', 'workstation', 'ups', 'pbx', 'other', name='asset_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('manufacturer', sa.String(length=120), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('serial', sa.String(length=120), nullable=True),
    sa.Column('firmware_version', sa.String(length=80), nullable=True),
    sa.Column('management_address', sa.String(length=300), nullable=True),
    sa.Column('vendor_account_id', sa.Uuid(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('source', sa.Enum('manual', 'connection', 'import', name='record_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('last_synced_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_assets_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_assets_connection_id_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vendor_account_id'], ['vendor_accounts.id'], name=op.f('fk_assets_vendor_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('connection_id', 'external_id', name=op.f('uq_assets_connection_id_external_id')),
    sa.UniqueConstraint('manufacturer', 'serial', name=op.f('uq_assets_manufacturer_serial'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_vendor_account_id'), ['vendor_account_id'], unique=False)

    op.create_table('check_runs',
    sa.Column('check_id', sa.Uuid(), nullable=False),
    sa.Column('started_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('pending', 'ok', 'warn', 'fail', 'unknown', name='check_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_check_runs_check_id_checks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_runs'))
    )
    with op.batch_alter_table('check_runs', schema=None) as batch_op:
        batch_op.create_index('ix_check_runs_check_id_started_at', ['check_id', 'started_at'], unique=False)

    op.create_table('domains',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=253), nullable=False),
    sa.Column('registrar_account_id', sa.Uuid(), nullable=True),
    sa.Column('dns_host_account_id', sa.Uuid(), nullable=True),
    sa.Column('mail_host_account_id', sa.Uuid(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('expiry_checked_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expected_mail_provider', sa.Enum('microsoft365', 'google_workspace', 'other', 'none', name='mail_provider', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('dkim_selectors', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_domains_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['dns_host_account_id'], ['vendor_accounts.id'], name=op.f('fk_domains_dns_host_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['mail_host_account_id'], ['vendor_accounts.id'], name=op.f('fk_domains_mail_host_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['registrar_account_id'], ['vendor_accounts.id'], name=op.f('fk_domains_registrar_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domains')),
    sa.UniqueConstraint('name', name=op.f('uq_domains_name'))
    )
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domains_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_domains_dns_host_account_id'), ['dns_host_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_domains_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_domains_mail_host_account_id'), ['mail_host_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_domains_registrar_account_id'), ['registrar_account_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('vendor_account_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.Enum('isp', 'mail_hosting', 'dns_hosting', 'registrar', 'firewall', 'antivirus', 'printer', 'hardware', 'telephony', 'software', 'backup', 'cloud', 'distributor', 'other', name='subscription_category', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('kind', sa.Enum('licence', 'plan', 'line', 'contract', 'support', 'domain_registration', 'hosting', 'rental', 'other', name='subscription_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('product', sa.String(length=300), nullable=False),
    sa.Column('sku', sa.String(length=120), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', hub.kit.money.Money(), nullable=False),
    sa.Column('client_unit_price', hub.kit.money.Money(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('billing_period', sa.Enum('monthly', 'quarterly', 'semiannual', 'yearly', 'biennial', 'triennial', name='billing_period', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('payer', sa.Enum('client_direct', 'msp_resold', 'msp_included', name='payer', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('renewal_type', sa.Enum('none', 'manual', 'auto_vendor', 'auto_hub', name='renewal_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('notice_days', sa.Integer(), nullable=False),
    sa.Column('renewal_policy', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('active', 'cancelled', name='subscription_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('cancelled_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.Enum('manual', 'connection', 'import', name='record_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('last_synced_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('missing_since', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_subscriptions_ends_after_start')),
    sa.CheckConstraint('notice_days >= 0', name=op.f('ck_subscriptions_notice_days_not_negative')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_subscriptions_quantity_not_negative')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_subscriptions_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_subscriptions_connection_id_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vendor_account_id'], ['vendor_accounts.id'], name=op.f('fk_subscriptions_vendor_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('connection_id', 'external_id', name=op.f('uq_subscriptions_connection_id_external_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_category'), ['category'], unique=False)
        batch_op.create_index('ix_subscriptions_client_id_ends_on', ['client_id', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_payer'), ['payer'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_vendor_account_id'), ['vendor_account_id'], unique=False)

    op.create_table('endpoints',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=True),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('sni', sa.String(length=253), nullable=True),
    sa.Column('tls_mode', sa.Enum('direct', 'smtp_starttls', 'imap_starttls', 'pop3_starttls', name='tls_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('last_checked_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('port >= 1 AND port <= 65535', name=op.f('ck_endpoints_port_range')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_endpoints_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], name=op.f('fk_endpoints_domain_id_domains'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endpoints')),
    sa.UniqueConstraint('client_id', 'host', 'port', name=op.f('uq_endpoints_client_id_host_port'))
    )
    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endpoints_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_endpoints_domain_id'), ['domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_endpoints_expires_on'), ['expires_on'], unique=False)

    op.create_table('renewals',
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('term_ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('planned', 'awaiting_approval', 'approved', 'submitting', 'confirmed', 'rejected', 'unknown', 'reconciling', 'escalated', 'declined', name='renewal_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('vendor_order_ref', sa.String(length=200), nullable=True),
    sa.Column('quoted_price', hub.kit.money.Money(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('approvals', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('submitted_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_renewals_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_renewals_subscription_id_subscriptions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renewals')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_renewals_idempotency_key')),
    sa.UniqueConstraint('subscription_id', 'term_ends_on', name=op.f('uq_renewals_subscription_id_term_ends_on'))
    )
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renewals_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_renewals_state'), ['state'], unique=False)

    op.create_table('vendor_cases',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('vendor_account_id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=True),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.Column('domain_id', sa.Uuid(), nullable=True),
    sa.Column('check_run_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.Enum('low', 'normal', 'high', 'critical', name='case_severity', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('draft', 'open', 'waiting_vendor', 'waiting_client', 'resolved', 'closed', name='case_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('channel', sa.Enum('api', 'email', 'phone', 'portal', name='case_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('external_ref', sa.String(length=120), nullable=True),
    sa.Column('opened_by', sa.String(length=200), nullable=True),
    sa.Column('opened_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('vendor_sla_due_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_vendor_cases_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['check_run_id'], ['check_runs.id'], name=op.f('fk_vendor_cases_check_run_id_check_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_vendor_cases_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], name=op.f('fk_vendor_cases_domain_id_domains'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_vendor_cases_subscription_id_subscriptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vendor_account_id'], ['vendor_accounts.id'], name=op.f('fk_vendor_cases_vendor_account_id_vendor_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_cases'))
    )
    with op.batch_alter_table('vendor_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_cases_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_cases_status'), ['status'], unique=False)
        batch_op.create_index('ix_vendor_cases_vendor_account_id_external_ref', ['vendor_account_id', 'external_ref'], unique=True)

    op.create_table('warranties',
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.String(length=120), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('source', sa.Enum('manual', 'adapter', name='warranty_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('last_checked_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_warranties_ends_after_start')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_warranties_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_warranties_client_id_clients'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warranties')),
    sa.UniqueConstraint('asset_id', 'level', 'starts_on', name=op.f('uq_warranties_asset_id_level_starts_on'))
    )
    with op.batch_alter_table('warranties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warranties_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_warranties_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_warranties_ends_on'), ['ends_on'], unique=False)

    op.create_table('case_events',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('note', 'email_out', 'email_in', 'status_change', 'escalation', 'time_spent', name='case_event_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('occurred_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('minutes_spent', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['vendor_cases.id'], name=op.f('fk_case_events_case_id_vendor_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('subscription_terms',
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', hub.kit.money.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('renewed_by', sa.Enum('initial', 'manual', 'auto_vendor', 'auto_hub', 'sync', name='term_renewed_by', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('renewal_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_subscription_terms_ends_after_start')),
    sa.ForeignKeyConstraint(['renewal_id'], ['renewals.id'], name=op.f('fk_subscription_terms_renewal_id_renewals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_terms_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_terms')),
    sa.UniqueConstraint('subscription_id', 'starts_on', name=op.f('uq_subscription_terms_subscription_id_starts_on'))
    )
    with op.batch_alter_table('subscription_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_terms_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_terms_subscription_id'))

    op.drop_table('subscription_terms')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    with op.batch_alter_table('warranties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warranties_ends_on'))
        batch_op.drop_index(batch_op.f('ix_warranties_client_id'))
        batch_op.drop_index(batch_op.f('ix_warranties_asset_id'))

    op.drop_table('warranties')
    with op.batch_alter_table('vendor_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_cases_vendor_account_id_external_ref')
        batch_op.drop_index(batch_op.f('ix_vendor_cases_status'))
        batch_op.drop_index(batch_op.f('ix_vendor_cases_client_id'))

    op.drop_table('vendor_cases')
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewals_state'))
        batch_op.drop_index(batch_op.f('ix_renewals_client_id'))

    op.drop_table('renewals')
    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endpoints_expires_on'))
        batch_op.drop_index(batch_op.f('ix_endpoints_domain_id'))
        batch_op.drop_index(batch_op.f('ix_endpoints_client_id'))

    op.drop_table('endpoints')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_vendor_account_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_payer'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_ends_on'))
        batch_op.drop_index('ix_subscriptions_client_id_ends_on')
        batch_op.drop_index(batch_op.f('ix_subscriptions_category'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domains_registrar_account_id'))
        batch_op.drop_index(batch_op.f('ix_domains_mail_host_account_id'))
        batch_op.drop_index(batch_op.f('ix_domains_expires_on'))
        batch_op.drop_index(batch_op.f('ix_domains_dns_host_account_id'))
        batch_op.drop_index(batch_op.f('ix_domains_client_id'))

    op.drop_table('domains')
    with op.batch_alter_table('check_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_check_runs_check_id_started_at')

    op.drop_table('check_runs')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_vendor_account_id'))
        batch_op.drop_index(batch_op.f('ix_assets_kind'))
        batch_op.drop_index(batch_op.f('ix_assets_client_id'))

    op.drop_table('assets')
    with op.batch_alter_table('vendor_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_accounts_vendor_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_accounts_client_id'))

    op.drop_table('vendor_accounts')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_client_id'))

    op.drop_table('notices')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_vendor_id'))
        batch_op.drop_index(batch_op.f('ix_contacts_client_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connections_client_id'))
        batch_op.drop_index(batch_op.f('ix_connections_adapter_slug'))

    op.drop_table('connections')
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checks_status'))
        batch_op.drop_index(batch_op.f('ix_checks_next_run_at'))
        batch_op.drop_index(batch_op.f('ix_checks_client_id'))

    op.drop_table('checks')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_client_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_status'))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_client_id_clients'), type_='foreignkey')

    op.drop_table('clients')
    with op.batch_alter_table('vendors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendors_category'))

    op.drop_table('vendors')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_client_id'))

    op.drop_table('users')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject_type_subject_id')
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_client_id'))

    op.drop_table('audit_events')
