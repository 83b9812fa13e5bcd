"""Piccolo tables: the whole domain of DESIGN.md §3, and nothing but columns.

Behaviour lives in ``training.services`` and ``training.rules``. Rows are never deleted where the
programme needs a history (certificates, filings, audit); they change status instead.
Columns named ``lock_version`` carry optimistic concurrency: an edit names the version it read and
is refused with a conflict when somebody saved first.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    SmallInt,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

RESTRICT = OnDelete.restrict


class City(Table, tablename="city"):
    """City (地市): one of Shandong's 16 prefecture-level cities, GB/T 2260 code."""

    code = Varchar(length=6, unique=True)
    name = Varchar(length=32)
    name_en = Varchar(length=64, default="")
    sort_order = SmallInt(default=0)


class Occupation(Table, tablename="occupation"):
    """Occupation (职业): one occupation of the programme's ten fields."""

    field = Varchar(length=32)
    name = Varchar(length=64, unique=True)
    name_en = Varchar(length=128, default="")
    national_code = Varchar(length=16, default="")
    sort_order = SmallInt(default=0)


class Standard(Table, tablename="occupation_standard"):
    """Occupational standard (职业标准学时要求) per occupation and level, versioned.

    A cohort records the standard it was opened under, so a later edit never changes what an
    existing cohort is measured against.
    """

    occupation = ForeignKey(Occupation, on_delete=RESTRICT, index=True)
    level = Varchar(length=16)  # junior / intermediate / senior
    version_label = Varchar(length=64)
    required_hours = DoublePrecision()
    min_practice_hours = DoublePrecision()
    max_online_share = DoublePrecision()  # 0..1 of the required total
    pass_mark_theory = SmallInt(default=60)
    pass_mark_practice = SmallInt(default=60)
    illustrative = Boolean(default=True)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Institution(Table, tablename="institution"):
    """Approved training institution (培训机构) in the provincial catalogue."""

    name = Varchar(length=128)
    credit_code = Varchar(length=18, unique=True)
    city = ForeignKey(City, on_delete=RESTRICT, index=True)
    address = Varchar(length=256, default="")
    contact_person = Varchar(length=64, default="")
    phone = Varchar(length=32, default="")
    email = Varchar(length=128, default="")
    status = Varchar(length=16, default="active")  # active / suspended / revoked
    status_reason = Text(default="")
    lock_version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Approval(Table, tablename="approval"):
    """Approval (培训专业核准) of an institution for one occupation at one level, for a period."""

    institution = ForeignKey(Institution, on_delete=RESTRICT, index=True)
    occupation = ForeignKey(Occupation, on_delete=RESTRICT)
    level = Varchar(length=16)
    valid_from = Date()
    valid_to = Date()
    document_number = Varchar(length=64, default="")
    withdrawn = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="app_user"):
    """A person who signs in (用户). Belongs to exactly one organisation: the province,
    one city (``city``) or one institution (``institution``)."""

    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=64, default="")
    email = Varchar(length=128, default="")
    password_hash = Varchar(length=255, secret=True)
    role = Varchar(length=16)  # province / city / institution
    city = ForeignKey(City, on_delete=RESTRICT, null=True, default=None)
    institution = ForeignKey(Institution, on_delete=RESTRICT, null=True, default=None)
    active = Boolean(default=True)
    locale = Varchar(length=8, default="")
    failed_logins = SmallInt(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthToken(Table, tablename="auth_token"):
    """A browser session or API bearer token. Only the SHA-256 of the token is stored."""

    token_hash = Varchar(length=64, unique=True, secret=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=8)  # session / api
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    client_addr = Varchar(length=64, default="")


class CatalogueEntry(Table, tablename="catalogue_entry"):
    """City catalogue entry (城市培训目录): a city's inclusion of an institution for an occupation.

    Removal keeps the row (``removed_at``, ``removed_reason``) so the history stays readable.
    """

    city = ForeignKey(City, on_delete=RESTRICT, index=True)
    institution = ForeignKey(Institution, on_delete=RESTRICT, index=True)
    occupation = ForeignKey(Occupation, on_delete=RESTRICT)
    added_at = Timestamptz(default=TimestamptzNow())
    added_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    added_reason = Text(default="")
    removed_at = Timestamptz(null=True, default=None)
    removed_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    removed_reason = Text(default="")


class Plan(Table, tablename="annual_plan"):
    """Annual training plan (年度培训计划) of one city for one year."""

    city = ForeignKey(City, on_delete=RESTRICT, index=True)
    year = SmallInt()
    title = Varchar(length=128, default="")
    status = Varchar(length=16, default="draft")  # draft / submitted / accepted / returned
    submitted_at = Timestamptz(null=True, default=None)
    submitted_late = Boolean(default=False)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    province_comment = Text(default="")
    lock_version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PlanLine(Table, tablename="plan_line"):
    """Plan line (计划明细): occupation, level, target group, class type and headcount."""

    plan = ForeignKey(Plan, on_delete=OnDelete.cascade, index=True)
    occupation = ForeignKey(Occupation, on_delete=RESTRICT)
    level = Varchar(length=16)
    target_group = Varchar(length=32)  # advanced_manufacturing / digital_transformation / graduates / other
    class_type = Varchar(length=16)  # regular / order / custom / directed
    target_headcount = Integer()
    note = Text(default="")


class PlanLineInstitution(Table, tablename="plan_line_institution"):
    """An institution intended to deliver a plan line."""

    plan_line = ForeignKey(PlanLine, on_delete=OnDelete.cascade, index=True)
    institution = ForeignKey(Institution, on_delete=RESTRICT)


class Cohort(Table, tablename="cohort"):
    """Cohort (培训班): one class run by an institution in a city, against a plan line."""

    code = Varchar(length=32, unique=True)
    name = Varchar(length=128)
    institution = ForeignKey(Institution, on_delete=RESTRICT)
    city = ForeignKey(City, on_delete=RESTRICT)
    plan_line = ForeignKey(PlanLine, on_delete=RESTRICT, null=True, default=None)
    occupation = ForeignKey(Occupation, on_delete=RESTRICT)
    level = Varchar(length=16)
    standard = ForeignKey(Standard, on_delete=RESTRICT)
    direction = Varchar(length=128, default="")
    class_type = Varchar(length=16, default="regular")
    partner_name = Varchar(length=128, default="")
    partner_credit_code = Varchar(length=18, default="")
    planned_start = Date()
    planned_end = Date()
    capacity = Integer()
    status = Varchar(length=16, default="draft")
    status_reason = Text(default="")
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    lock_version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Trainee(Table, tablename="trainee"):
    """Trainee (学员): one row per person, keyed by the resident ID number (GB 11643)."""

    id_number = Varchar(length=18, unique=True, secret=True)
    name = Varchar(length=64)
    sex = Varchar(length=1)  # M / F, derived from the ID number
    birth_date = Date()
    phone = Varchar(length=20, default="")
    education = Varchar(length=32, default="")
    employer = Varchar(length=128, default="")
    employer_credit_code = Varchar(length=18, default="")
    new_graduate = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Enrollment(Table, tablename="enrollment"):
    """Enrollment (报名): a trainee in a cohort."""

    trainee = ForeignKey(Trainee, on_delete=RESTRICT, index=True)
    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    enrolled_on = Date()
    status = Varchar(length=16, default="enrolled")  # enrolled / withdrawn / completed / failed
    withdrawn_on = Date(null=True, default=None)
    withdraw_reason = Text(default="")
    possible_duplicate = Boolean(default=False)  # same occupation+level within a year: city reviews
    created_at = Timestamptz(default=TimestamptzNow())


class TrainingSession(Table, tablename="training_session"):
    """Session (课次) of a cohort. ``lock_version`` guards its attendance roll."""

    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    session_date = Date()
    start_time = Time()
    end_time = Time()
    mode = Varchar(length=8)  # online / offline
    kind = Varchar(length=9)  # theory / practice
    class_hours = DoublePrecision()
    topic = Varchar(length=256, default="")
    teacher = Varchar(length=64, default="")
    place = Varchar(length=256, default="")
    platform = Varchar(length=128, default="")
    lock_version = Integer(default=1)
    roll_saved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Attendance(Table, tablename="attendance"):
    """Attendance (考勤) of one enrollment at one session, with the class hours credited."""

    enrollment = ForeignKey(Enrollment, on_delete=RESTRICT)
    session = ForeignKey(TrainingSession, on_delete=RESTRICT)
    status = Varchar(length=12)  # present / late / left_early / absent / excused
    credited_hours = DoublePrecision(default=0.0)
    source = Varchar(length=16, default="manual")  # manual / import / online_platform
    minutes_online = Integer(null=True, default=None)
    recorded_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    recorded_at = Timestamptz(default=TimestamptzNow())


class AttendanceAmendment(Table, tablename="attendance_amendment"):
    """A correction to attendance after filing (考勤更正), carried into the next filing version."""

    attendance = ForeignKey(Attendance, on_delete=RESTRICT, index=True)
    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    old_status = Varchar(length=12)
    old_hours = DoublePrecision()
    new_status = Varchar(length=12)
    new_hours = DoublePrecision()
    reason = Text()
    amended_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    amended_at = Timestamptz(default=TimestamptzNow())
    filed_in_version = Integer(null=True, default=None)


class Assessment(Table, tablename="assessment"):
    """Final completion assessment (结业考核) sitting of a cohort; ``attempt`` 2 is the retake."""

    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    assessment_date = Date()
    form = Varchar(length=16)  # written / practical / both
    attempt = SmallInt(default=1)
    created_at = Timestamptz(default=TimestamptzNow())


class AssessmentResult(Table, tablename="assessment_result"):
    """One trainee's result at one assessment sitting."""

    assessment = ForeignKey(Assessment, on_delete=RESTRICT, index=True)
    enrollment = ForeignKey(Enrollment, on_delete=RESTRICT, index=True)
    theory_score = SmallInt(null=True, default=None)
    practice_score = SmallInt(null=True, default=None)
    absent = Boolean(default=False)
    passed = Boolean(default=False)
    recorded_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    recorded_at = Timestamptz(default=TimestamptzNow())


class CertificateCounter(Table, tablename="certificate_counter"):
    """Last certificate sequence used per year and city: numbers are gap-free and never reused."""

    year = SmallInt()
    city_code = Varchar(length=6)
    last_sequence = Integer(default=0)


class Certificate(Table, tablename="certificate"):
    """Training certificate (培训合格证书). Revocable with a reason; never deleted."""

    number = Varchar(length=32, unique=True)
    verification_code = Varchar(length=32, unique=True)
    enrollment = ForeignKey(Enrollment, on_delete=RESTRICT, unique=True)
    result = ForeignKey(AssessmentResult, on_delete=RESTRICT)
    trainee = ForeignKey(Trainee, on_delete=RESTRICT, index=True)
    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    institution = ForeignKey(Institution, on_delete=RESTRICT)
    city = ForeignKey(City, on_delete=RESTRICT)
    occupation = ForeignKey(Occupation, on_delete=RESTRICT)
    level = Varchar(length=16)
    year = SmallInt()
    sequence = Integer()
    issue_date = Date()
    hours = DoublePrecision()
    status = Varchar(length=8, default="valid")  # valid / revoked
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    revoke_reason = Text(default="")


class StoredFile(Table, tablename="stored_file"):
    """A generated document kept content-addressed under the data directory by its SHA-256."""

    sha256 = Varchar(length=64, unique=True)
    size = BigInt()
    content_type = Varchar(length=128)
    relative_path = Varchar(length=256)
    created_at = Timestamptz(default=TimestamptzNow())


class Filing(Table, tablename="filing"):
    """Filing (备案) of a cohort's trainee list and training summary; one row per version."""

    cohort = ForeignKey(Cohort, on_delete=RESTRICT, index=True)
    version_number = SmallInt(default=1)
    status = Varchar(length=16, default="draft")  # draft / submitted / acknowledged / returned
    due_date = Date(index=True)
    narrative = JSON(default={})
    submitted_at = Timestamptz(null=True, default=None)
    submitted_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    submitted_late = Boolean(default=False)
    report_file = ForeignKey(StoredFile, on_delete=RESTRICT, null=True, default=None)
    trainees_file = ForeignKey(StoredFile, on_delete=RESTRICT, null=True, default=None)
    package_sha256 = Varchar(length=64, default="")
    lock_version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())


class FilingReceipt(Table, tablename="filing_receipt"):
    """An addressee's answer to a filing version: the province or the cohort's city."""

    filing = ForeignKey(Filing, on_delete=RESTRICT, index=True)
    addressee = Varchar(length=16)  # province / city
    city = ForeignKey(City, on_delete=RESTRICT, null=True, default=None)
    status = Varchar(length=16, default="pending")  # pending / acknowledged / returned
    comment = Text(default="")
    decided_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)


class Notification(Table, tablename="notification"):
    """In-app message (通知) to an organisation. ``dedupe_key`` makes scheduler jobs idempotent."""

    recipient_role = Varchar(length=16)
    city = ForeignKey(City, on_delete=RESTRICT, null=True, default=None)
    institution = ForeignKey(Institution, on_delete=RESTRICT, null=True, default=None)
    kind = Varchar(length=32)
    title = Varchar(length=256)
    body = Text(default="")
    link = Varchar(length=256, default="")
    dedupe_key = Varchar(length=128, unique=True)
    emailed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    # while a sender is e-mailing it (migration 2026-11-24T09:10): a lease, so two senders never both send
    email_claimed_until = Timestamptz(null=True, default=None)


class NotificationRead(Table, tablename="notification_read"):
    """That one user has read one notification."""

    notification = ForeignKey(Notification, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    read_at = Timestamptz(default=TimestamptzNow())


class AnomalyFlag(Table, tablename="anomaly_flag"):
    """An irregularity for the city to review (异常线索): overlap, excess daily hours, etc."""

    kind = Varchar(length=32)
    city = ForeignKey(City, on_delete=RESTRICT, index=True)
    institution = ForeignKey(Institution, on_delete=RESTRICT, null=True, default=None)
    cohort = ForeignKey(Cohort, on_delete=RESTRICT, null=True, default=None)
    trainee = ForeignKey(Trainee, on_delete=RESTRICT, null=True, default=None)
    details = JSON(default={})
    dedupe_key = Varchar(length=128, unique=True)
    detected_at = Timestamptz(default=TimestamptzNow())
    review_status = Varchar(length=16, default="open")  # open / explained / confirmed
    review_note = Text(default="")
    reviewed_by = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)


class AuditEvent(Table, tablename="audit_event"):
    """Audit event (操作留痕): every change, chained by SHA-256 to the one before it."""

    id = Serial(primary_key=True)
    occurred_at = Timestamptz(default=TimestamptzNow())
    user = ForeignKey(User, on_delete=RESTRICT, null=True, default=None)
    username = Varchar(length=64, default="")
    org_role = Varchar(length=16, default="")
    city_code = Varchar(length=6, default="", index=True)
    institution_id = Integer(null=True, default=None)
    action = Varchar(length=64)
    entity = Varchar(length=32)
    entity_id = Varchar(length=64, default="")
    before = JSON(default={})
    after = JSON(default={})
    client_addr = Varchar(length=64, default="")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class SchedulerLock(Table, tablename="scheduler_lock"):
    """A leased lock row: the one scheduler of a deployment on SQLite (PostgreSQL uses advisory locks)."""

    name = Varchar(length=64, unique=True)
    holder = Varchar(length=128, default="")
    lease_until = Timestamptz(null=True, default=None)


class JobRun(Table, tablename="job_run"):
    """A scheduler job's run for one period key: a restart catches up once, never twice."""

    job = Varchar(length=64)
    period_key = Varchar(length=32)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    outcome = Text(default="")


ALL_TABLES: tuple[type[Table], ...] = (
    City,
    Occupation,
    Standard,
    Institution,
    Approval,
    User,
    AuthToken,
    CatalogueEntry,
    Plan,
    PlanLine,
    PlanLineInstitution,
    Cohort,
    Trainee,
    Enrollment,
    TrainingSession,
    Attendance,
    AttendanceAmendment,
    Assessment,
    AssessmentResult,
    CertificateCounter,
    Certificate,
    StoredFile,
    Filing,
    FilingReceipt,
    Notification,
    NotificationRead,
    AnomalyFlag,
    AuditEvent,
    SchedulerLock,
    JobRun,
)


# --- dashboards summary [dashboards helper] (migration 2026-11-24T09:20) -------------------------


class CohortTally(Table, tablename="cohort_tally"):
    """Per-cohort dashboard figures (统计汇总): enrolled, completed, certified, assessed, passed and
    delivered hours by mode × kind. Triggers mark a cohort in ``cohort_tally_dirty`` when its rows
    change; ``training.services.stats`` recomputes marked cohorts before every read."""

    cohort = Integer(primary_key=True)
    enrolled = Integer(default=0)
    completed = Integer(default=0)
    certified = Integer(default=0)
    assessed = Integer(default=0)
    passed = Integer(default=0)
    online_theory = DoublePrecision(default=0.0)
    online_practice = DoublePrecision(default=0.0)
    offline_theory = DoublePrecision(default=0.0)
    offline_practice = DoublePrecision(default=0.0)


class CohortTallyDirty(Table, tablename="cohort_tally_dirty"):
    """A cohort whose ``cohort_tally`` row may be out of date (written by triggers)."""

    cohort = Integer(primary_key=True)


ALL_TABLES = (*ALL_TABLES, CohortTally, CohortTallyDirty)
