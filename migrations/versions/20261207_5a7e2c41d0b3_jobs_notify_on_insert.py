"""PostgreSQL: adding a queued job notifies channel `hub_jobs`, so that idle workers
(LISTEN hub_jobs) claim it at once instead of at their next poll. One notification per
statement (PostgreSQL folds repeats within a transaction and sends them at commit, so a
rolled-back enqueue wakes nobody). SQLite has no notifications: its worker polls.

Revision ID: 5a7e2c41d0b3
Revises: c2e1e9f9ab62
Create Date: 2026-12-07 13:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5a7e2c41d0b3"
down_revision: str | None = "c2e1e9f9ab62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION hub_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM added WHERE state = 'queued') THEN
                PERFORM pg_notify('hub_jobs', '');
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION hub_jobs_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS jobs_notify_insert ON jobs")
    op.execute("DROP FUNCTION IF EXISTS hub_jobs_notify()")
