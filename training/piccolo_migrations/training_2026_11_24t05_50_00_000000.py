"""Composite and unique indexes Piccolo's table syntax cannot express (hand-written, reviewed).

Each serves a query named beside it; both SQLite and PostgreSQL accept this SQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T05:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes and unique constraints"

INDEXES = [
    # one attendance row per trainee per session; also serves "hours of this enrollment"
    "CREATE UNIQUE INDEX IF NOT EXISTS attendance_enrollment_session ON attendance (enrollment, session)",
    # the roll of a session, and progress by session
    "CREATE INDEX IF NOT EXISTS attendance_session_enrollment ON attendance (session, enrollment, credited_hours)",
    # city officers' lists: cohorts of my city in a status
    "CREATE INDEX IF NOT EXISTS cohort_city_status ON cohort (city, status)",
    "CREATE INDEX IF NOT EXISTS cohort_institution_status ON cohort (institution, status)",
    "CREATE UNIQUE INDEX IF NOT EXISTS enrollment_trainee_cohort ON enrollment (trainee, cohort)",
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_city_year ON annual_plan (city, year)",
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_line_institution_unique ON plan_line_institution (plan_line, institution)",
    "CREATE UNIQUE INDEX IF NOT EXISTS certificate_year_city_sequence ON certificate (year, city, sequence)",
    "CREATE UNIQUE INDEX IF NOT EXISTS certificate_counter_year_city ON certificate_counter (year, city_code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS filing_cohort_version ON filing (cohort, version_number)",
    "CREATE INDEX IF NOT EXISTS filing_status_due ON filing (status, due_date)",
    "CREATE UNIQUE INDEX IF NOT EXISTS filing_receipt_addressee ON filing_receipt (filing, addressee)",
    "CREATE UNIQUE INDEX IF NOT EXISTS notification_read_unique ON notification_read (notification, \"user\")",
    "CREATE UNIQUE INDEX IF NOT EXISTS job_run_period ON job_run (job, period_key)",
    "CREATE INDEX IF NOT EXISTS catalogue_city_institution ON catalogue_entry (city, institution, occupation)",
    "CREATE INDEX IF NOT EXISTS approval_institution_occupation ON approval (institution, occupation, level)",
    "CREATE UNIQUE INDEX IF NOT EXISTS standard_version ON occupation_standard (occupation, level, version_label)",
    "CREATE INDEX IF NOT EXISTS session_cohort_date ON training_session (cohort, session_date)",
    "CREATE INDEX IF NOT EXISTS audit_entity ON audit_event (entity, entity_id)",
    "CREATE INDEX IF NOT EXISTS audit_occurred ON audit_event (occurred_at)",
    "CREATE INDEX IF NOT EXISTS notification_recipient ON notification (recipient_role, city, institution)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def create_indexes():
        from training.tables import City

        for statement in INDEXES:
            await City.raw(statement)

    manager.add_raw(create_indexes)
    return manager
