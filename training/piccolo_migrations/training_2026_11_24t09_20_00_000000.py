"""Dashboard summary: per-cohort tallies kept exact by triggers marking cohorts to refresh.

Hand-written. ``cohort_tally`` holds, per cohort, the figures the supervision dashboards sum
(enrolled, completed, certified, assessed, passed, delivered hours by mode × kind);
``cohort_tally_dirty`` lists the cohorts whose tally may be out of date. Triggers on the four
source tables (enrollment, certificate, assessment_result, training_session) only *mark* a cohort
(an insert-or-ignore of one small row); ``training.services.stats`` recomputes the marked cohorts'
tallies with the ordinary GROUP BY queries just before it reads, so every figure is exact and a
province-wide read sums 3,000 rows instead of scanning 100,000 enrollments and 120,000 sessions.

The tables and indexes are SQL both databases accept; the triggers cannot be (SQLite has no
trigger functions, PostgreSQL no trigger bodies), so each engine gets its own form.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T09:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cohort_tally summary for the dashboards, marked by triggers"

TABLES = [
    "CREATE TABLE IF NOT EXISTS cohort_tally (cohort INTEGER PRIMARY KEY NOT NULL, "
    "enrolled INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, "
    "certified INTEGER NOT NULL DEFAULT 0, assessed INTEGER NOT NULL DEFAULT 0, passed INTEGER NOT NULL DEFAULT 0, "
    "online_theory DOUBLE PRECISION NOT NULL DEFAULT 0, online_practice DOUBLE PRECISION NOT NULL DEFAULT 0, "
    "offline_theory DOUBLE PRECISION NOT NULL DEFAULT 0, offline_practice DOUBLE PRECISION NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS cohort_tally_dirty (cohort INTEGER PRIMARY KEY NOT NULL)",
    # the refresh of a few cohorts: covering indexes, so it reads index entries only
    "CREATE INDEX IF NOT EXISTS enrollment_cohort_status ON enrollment (cohort, status)",
    "CREATE INDEX IF NOT EXISTS certificate_cohort_status ON certificate (cohort, status)",
    "CREATE INDEX IF NOT EXISTS assessment_result_outcome ON assessment_result (assessment, absent, passed, enrollment)",
    "CREATE INDEX IF NOT EXISTS session_cohort_delivered ON training_session "
    "(cohort, mode, kind, roll_saved_at, class_hours)",
    # the year filter of every dashboard
    "CREATE INDEX IF NOT EXISTS cohort_planned_start ON cohort (planned_start)",
]

# table -> how a row names its cohort
SOURCES = {
    "enrollment": "{row}.cohort",
    "certificate": "{row}.cohort",
    "training_session": "{row}.cohort",
    "assessment_result": "(SELECT a.cohort FROM assessment a WHERE a.id = {row}.assessment)",
}


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, cohort in SOURCES.items():
        mark = "INSERT OR IGNORE INTO cohort_tally_dirty (cohort) SELECT {} WHERE {} IS NOT NULL;"
        new, old = cohort.format(row="NEW"), cohort.format(row="OLD")
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS tally_{table}_insert AFTER INSERT ON {table} BEGIN "
            f"{mark.format(new, new)} END",
            f"CREATE TRIGGER IF NOT EXISTS tally_{table}_update AFTER UPDATE ON {table} BEGIN "
            f"{mark.format(new, new)} {mark.format(old, old)} END",
            f"CREATE TRIGGER IF NOT EXISTS tally_{table}_delete AFTER DELETE ON {table} BEGIN "
            f"{mark.format(old, old)} END",
        ]
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table, cohort in SOURCES.items():
        new, old = cohort.format(row="NEW"), cohort.format(row="OLD")
        statements += [
            f"CREATE OR REPLACE FUNCTION tally_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            f"BEGIN "
            f"IF TG_OP <> 'INSERT' THEN INSERT INTO cohort_tally_dirty (cohort) SELECT x FROM (SELECT {old} AS x) s "
            f"WHERE x IS NOT NULL ON CONFLICT DO NOTHING; END IF; "
            f"IF TG_OP <> 'DELETE' THEN INSERT INTO cohort_tally_dirty (cohort) SELECT x FROM (SELECT {new} AS x) s "
            f"WHERE x IS NOT NULL ON CONFLICT DO NOTHING; END IF; "
            f"RETURN NULL; END $body$",
            f"DROP TRIGGER IF EXISTS tally_{table} ON {table}",
            f"CREATE TRIGGER tally_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tally_mark_{table}()",
        ]
    return statements


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def apply():
        from training import db
        from training.tables import City

        for statement in TABLES:
            await City.raw(statement)
        for statement in _postgres_triggers() if db.is_postgres() else _sqlite_triggers():
            await City.raw(statement)
        # cohorts that already exist get their tally on the first read
        await City.raw("INSERT INTO cohort_tally_dirty (cohort) SELECT id FROM cohort")

    manager.add_raw(apply)
    return manager
