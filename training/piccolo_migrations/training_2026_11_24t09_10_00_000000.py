"""Notification e-mail claim: a short lease so two senders never e-mail the same notification.

Hand-written; both SQLite and PostgreSQL accept this SQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification.email_claimed_until; index for the e-mail job"

STATEMENTS = [
    "ALTER TABLE notification ADD COLUMN email_claimed_until TIMESTAMPTZ NULL DEFAULT NULL",
    # the e-mail job: notifications not yet e-mailed, oldest first
    "CREATE INDEX IF NOT EXISTS notification_emailed_created ON notification (emailed_at, created_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def apply():
        from training.tables import City

        for statement in STATEMENTS:
            await City.raw(statement)

    manager.add_raw(apply)
    return manager
