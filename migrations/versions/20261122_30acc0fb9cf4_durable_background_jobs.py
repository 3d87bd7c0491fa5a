"""Durable background jobs: the job table, worker heartbeats and event counters.

The job indexes are partial (live rows only) so that claiming, sweeping and the
dedupe/lock checks stay small however many finished jobs are retained.

Revision ID: 30acc0fb9cf4
Revises: 49787fe520a7
Create Date: 2026-11-22 00:20:19.010276
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.kit.types


revision: str = '30acc0fb9cf4'
down_revision: str | None = '49787fe520a7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_counters',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_counters'))
    )
    op.create_table('job_workers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('hostname', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('running', sa.Integer(), nullable=False),
    sa.Column('started_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_workers'))
    )
    op.create_table('jobs',
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'succeeded', 'failed', 'cancelled', name='job_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('run_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('lock_key', sa.String(length=200), nullable=True),
    sa.Column('schedule', sa.String(length=100), nullable=True),
    sa.Column('slot', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reclaims', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', hub.kit.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', hub.kit.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('schedule', 'slot', name=op.f('uq_jobs_schedule_slot'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_dedupe_key', ['dedupe_key'], unique=True, sqlite_where=sa.text("state IN ('queued', 'running')"), postgresql_where=sa.text("state IN ('queued', 'running')"))
        batch_op.create_index('ix_jobs_lease_expires_at', ['lease_expires_at'], unique=False, sqlite_where=sa.text("state = 'running'"), postgresql_where=sa.text("state = 'running'"))
        batch_op.create_index('ix_jobs_lock_key', ['lock_key'], unique=True, sqlite_where=sa.text("state = 'running'"), postgresql_where=sa.text("state = 'running'"))
        batch_op.create_index('ix_jobs_priority_run_at_id', ['priority', 'run_at', 'id'], unique=False, sqlite_where=sa.text("state = 'queued'"), postgresql_where=sa.text("state = 'queued'"))
        batch_op.create_index('ix_jobs_state_finished_at', ['state', 'finished_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Every job row is updated a few times and deleted within days: leave room on each
        # page for the updated versions and vacuum well before the default 20% of dead rows.
        op.execute(
            "ALTER TABLE jobs SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )



def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_finished_at')
        batch_op.drop_index('ix_jobs_priority_run_at_id', sqlite_where=sa.text("state = 'queued'"), postgresql_where=sa.text("state = 'queued'"))
        batch_op.drop_index('ix_jobs_lock_key', sqlite_where=sa.text("state = 'running'"), postgresql_where=sa.text("state = 'running'"))
        batch_op.drop_index('ix_jobs_lease_expires_at', sqlite_where=sa.text("state = 'running'"), postgresql_where=sa.text("state = 'running'"))
        batch_op.drop_index('ix_jobs_dedupe_key', sqlite_where=sa.text("state IN ('queued', 'running')"), postgresql_where=sa.text("state IN ('queued', 'running')"))

    op.drop_table('jobs')
    op.drop_table('job_workers')
    op.drop_table('job_counters')
