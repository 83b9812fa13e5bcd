"""The route × role matrix: who may use each (method, path) of the application.

Written out by hand from the controllers' ``guards=[roles(...)]`` and the services'
``access.require(actor, action)`` (``training/access.py`` ``_POLICY``), never computed from the
application: a new route without a line here fails ``tests/web/test_route_matrix.py``, and so
does a line for a route that no longer exists.

Values: ``PUBLIC`` (no sign-in needed), ``ANY`` (any signed-in user; every user has one of the
three roles), or the set of roles allowed. Roles outside the set must be refused (403, or 404
when the service hides the record).
"""

from __future__ import annotations

PUBLIC = "public"
ANY = "any"
P, C, INST = "province", "city", "institution"
ROLES = (P, C, INST)

Who = str | frozenset[str]


def only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


PROVINCE = only(P)
CITY = only(C)
INSTITUTION = only(INST)
DEPARTMENTS = only(P, C)  # stats.read, anomaly.review, filing.decide, plan documents
REVOKERS = only(P, INST)  # certificate.revoke

EXPECTED: dict[tuple[str, str], Who] = {
    # --- shell, sign-in, public pages and documentation --------------------------------------
    ("GET", "/"): ANY,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ANY,
    ("GET", "/lang/{code:str}"): PUBLIC,
    ("GET", "/institutions"): PUBLIC,
    ("GET", "/verify"): PUBLIC,
    ("GET", "/verify/{code:str}"): PUBLIC,
    ("GET", "/static/{file_path:path}"): PUBLIC,
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/scalar"): PUBLIC,
    ("GET", "/schema/{path:str}"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/verify/{code:str}"): PUBLIC,
    ("GET", "/api/v1/cities"): ANY,
    ("GET", "/api/v1/occupations"): ANY,
    # --- institutions (institution.write / approval.write: province) ---------------------------
    ("GET", "/institutions/manage"): PROVINCE,
    ("GET", "/institutions/manage/new"): PROVINCE,
    ("POST", "/institutions/manage/new"): PROVINCE,
    ("GET", "/institutions/manage/import"): PROVINCE,
    ("POST", "/institutions/manage/import"): PROVINCE,
    ("GET", "/institutions/manage/import-template.xlsx"): PROVINCE,
    ("GET", "/institutions/manage/{institution_id:int}"): PROVINCE,
    ("POST", "/institutions/manage/{institution_id:int}"): PROVINCE,
    ("POST", "/institutions/manage/{institution_id:int}/status"): PROVINCE,
    ("POST", "/institutions/manage/{institution_id:int}/approvals"): PROVINCE,
    ("POST", "/institutions/manage/{institution_id:int}/approvals/{approval_id:int}/withdraw"): PROVINCE,
    ("GET", "/api/v1/institutions"): ANY,
    ("POST", "/api/v1/institutions"): PROVINCE,
    ("POST", "/api/v1/institutions/import"): PROVINCE,
    ("GET", "/api/v1/institutions/import-template.xlsx"): ANY,
    ("GET", "/api/v1/institutions/{institution_id:int}"): ANY,
    ("PATCH", "/api/v1/institutions/{institution_id:int}"): PROVINCE,
    ("POST", "/api/v1/institutions/{institution_id:int}/suspend"): PROVINCE,
    ("POST", "/api/v1/institutions/{institution_id:int}/revoke"): PROVINCE,
    ("POST", "/api/v1/institutions/{institution_id:int}/reinstate"): PROVINCE,
    ("GET", "/api/v1/institutions/{institution_id:int}/approvals"): ANY,
    ("POST", "/api/v1/institutions/{institution_id:int}/approvals"): PROVINCE,
    ("POST", "/api/v1/institutions/{institution_id:int}/approvals/{approval_id:int}/withdraw"): PROVINCE,
    # --- city catalogue (catalogue.write: city) -------------------------------------------------
    ("GET", "/catalogue"): DEPARTMENTS,
    ("POST", "/catalogue/add"): CITY,
    ("POST", "/catalogue/{entry_id:int}/remove"): CITY,
    ("GET", "/api/v1/cities/{city_code:str}/catalogue"): ANY,
    ("POST", "/api/v1/cities/{city_code:str}/catalogue"): CITY,
    ("GET", "/api/v1/cities/{city_code:str}/catalogue/history"): ANY,
    ("POST", "/api/v1/cities/{city_code:str}/catalogue/{entry_id:int}/remove"): CITY,
    # --- annual plans (plan.write: city; plan.decide: province) ---------------------------------
    ("GET", "/plans"): DEPARTMENTS,
    ("POST", "/plans"): CITY,
    ("GET", "/plans/{plan_id:int}"): DEPARTMENTS,
    ("POST", "/plans/{plan_id:int}/title"): CITY,
    ("POST", "/plans/{plan_id:int}/lines"): CITY,
    ("POST", "/plans/{plan_id:int}/lines/{line_id:int}"): CITY,
    ("POST", "/plans/{plan_id:int}/lines/{line_id:int}/delete"): CITY,
    ("POST", "/plans/{plan_id:int}/submit"): CITY,
    ("POST", "/plans/{plan_id:int}/decide"): PROVINCE,
    ("GET", "/plans/{plan_id:int}/document.docx"): DEPARTMENTS,
    ("GET", "/plans/{plan_id:int}/document.pdf"): DEPARTMENTS,
    ("GET", "/api/v1/plans"): ANY,
    ("POST", "/api/v1/plans"): CITY,
    ("GET", "/api/v1/plans/{plan_id:int}"): ANY,
    ("PATCH", "/api/v1/plans/{plan_id:int}"): CITY,
    ("GET", "/api/v1/plans/{plan_id:int}/lines"): ANY,
    ("POST", "/api/v1/plans/{plan_id:int}/lines"): CITY,
    ("GET", "/api/v1/plans/{plan_id:int}/lines/{line_id:int}"): ANY,
    ("PATCH", "/api/v1/plans/{plan_id:int}/lines/{line_id:int}"): CITY,
    ("DELETE", "/api/v1/plans/{plan_id:int}/lines/{line_id:int}"): CITY,
    ("POST", "/api/v1/plans/{plan_id:int}/submit"): CITY,
    ("POST", "/api/v1/plans/{plan_id:int}/accept"): PROVINCE,
    ("POST", "/api/v1/plans/{plan_id:int}/return"): PROVINCE,
    ("GET", "/api/v1/plans/{plan_id:int}/progress"): DEPARTMENTS,
    ("GET", "/api/v1/plans/{plan_id:int}/document.docx"): DEPARTMENTS,
    ("GET", "/api/v1/plans/{plan_id:int}/document.pdf"): DEPARTMENTS,
    # --- cohorts (cohort.write: institution; cohort.decide: city) -------------------------------
    ("GET", "/cohorts"): ANY,
    ("POST", "/cohorts"): INSTITUTION,
    ("GET", "/cohorts/{cohort_id:int}"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/edit"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/submit"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/cancel"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/approve"): CITY,
    ("POST", "/cohorts/{cohort_id:int}/reject"): CITY,
    ("GET", "/api/v1/cohorts"): ANY,
    ("POST", "/api/v1/cohorts"): INSTITUTION,
    ("GET", "/api/v1/cohorts/{cohort_id:int}"): ANY,
    ("PATCH", "/api/v1/cohorts/{cohort_id:int}"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/submit"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/cancel"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/approve"): CITY,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/reject"): CITY,
    # --- enrollments and trainees (enrollment.write: institution; trainee.full_id: all) ---------
    ("GET", "/cohorts/{cohort_id:int}/enrollments"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/enrollments"): INSTITUTION,
    ("GET", "/cohorts/{cohort_id:int}/enrollments/import"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/enrollments/import"): INSTITUTION,
    ("GET", "/cohorts/{cohort_id:int}/enrollments/template.xlsx"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/enrollments/{enrollment_id:int}/withdraw"): INSTITUTION,
    ("POST", "/trainees/{trainee_id:int}/reveal-id"): ANY,
    ("GET", "/trainees/{trainee_id:int}/record"): ANY,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/enrollments"): ANY,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/enrollments"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/enrollments/import"): INSTITUTION,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/enrollments/template.xlsx"): ANY,
    ("POST", "/api/v1/enrollments/{enrollment_id:int}/withdraw"): INSTITUTION,
    ("POST", "/api/v1/trainees/{trainee_id:int}/reveal-id"): ANY,
    ("GET", "/api/v1/trainees/{trainee_id:int}/record"): ANY,
    # --- sessions and attendance (session.write / attendance.write: institution) ----------------
    ("GET", "/cohorts/{cohort_id:int}/sessions"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/sessions"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/sessions/weekly"): INSTITUTION,
    ("POST", "/sessions/{session_id:int}/delete"): INSTITUTION,
    ("GET", "/sessions/{session_id:int}/roll"): ANY,
    ("POST", "/sessions/{session_id:int}/roll"): INSTITUTION,
    ("POST", "/attendance/{attendance_id:int}/amend"): INSTITUTION,
    ("GET", "/cohorts/{cohort_id:int}/attendance/import"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/attendance/import"): INSTITUTION,
    ("GET", "/cohorts/{cohort_id:int}/attendance/template.xlsx"): ANY,
    ("GET", "/cohorts/{cohort_id:int}/progress"): ANY,
    ("GET", "/anomalies"): DEPARTMENTS,
    ("POST", "/anomalies/{flag_id:int}/review"): DEPARTMENTS,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/sessions"): ANY,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/sessions"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/sessions/weekly"): INSTITUTION,
    ("PATCH", "/api/v1/sessions/{session_id:int}"): INSTITUTION,
    ("DELETE", "/api/v1/sessions/{session_id:int}"): INSTITUTION,
    ("GET", "/api/v1/sessions/{session_id:int}/attendance"): ANY,
    ("PUT", "/api/v1/sessions/{session_id:int}/attendance"): INSTITUTION,
    ("POST", "/api/v1/attendance/{attendance_id:int}/amend"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/attendance/import"): INSTITUTION,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/attendance/template.xlsx"): ANY,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/progress"): ANY,
    # --- assessments (assessment.write: institution) --------------------------------------------
    ("GET", "/cohorts/{cohort_id:int}/assessment"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/assessment/schedule"): INSTITUTION,
    ("POST", "/assessments/{assessment_id:int}/reschedule"): INSTITUTION,
    ("POST", "/assessments/{assessment_id:int}/results"): INSTITUTION,
    ("POST", "/assessments/{assessment_id:int}/import"): INSTITUTION,
    ("GET", "/assessments/results-template.xlsx"): ANY,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/assessments"): ANY,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/assessments"): INSTITUTION,
    ("PATCH", "/api/v1/assessments/{assessment_id:int}"): INSTITUTION,
    ("GET", "/api/v1/assessments/{assessment_id:int}/results"): ANY,
    ("PUT", "/api/v1/assessments/{assessment_id:int}/results"): INSTITUTION,
    ("POST", "/api/v1/assessments/{assessment_id:int}/results/import"): INSTITUTION,
    ("GET", "/api/v1/assessments/results-template.xlsx"): ANY,
    # --- certificates (certificate.issue: institution; certificate.revoke: institution, province)
    ("GET", "/cohorts/{cohort_id:int}/certificates"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/certificates/issue"): INSTITUTION,
    ("GET", "/certificates/{number:str}/certificate.docx"): ANY,
    ("GET", "/certificates/{number:str}/certificate.pdf"): ANY,
    ("POST", "/certificates/{number:str}/revoke"): REVOKERS,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/certificates"): ANY,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/certificates"): INSTITUTION,
    ("GET", "/api/v1/certificates/{number:str}"): ANY,
    ("GET", "/api/v1/certificates/{number:str}/document.docx"): ANY,
    ("GET", "/api/v1/certificates/{number:str}/document.pdf"): ANY,
    ("POST", "/api/v1/certificates/{number:str}/revoke"): REVOKERS,
    # --- exports (stats.read: province, city) ---------------------------------------------------
    ("GET", "/exports"): DEPARTMENTS,
    ("GET", "/exports/{kind:str}/{fmt:str}"): DEPARTMENTS,
    ("GET", "/api/v1/exports/{kind:str}"): DEPARTMENTS,
    # --- filings (filing.write: institution; filing.decide: province, city) [filings helper] ----
    ("GET", "/cohorts/{cohort_id:int}/filing"): ANY,
    ("POST", "/cohorts/{cohort_id:int}/filing"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/filing/preview"): INSTITUTION,
    ("POST", "/cohorts/{cohort_id:int}/filing/submit"): INSTITUTION,
    ("GET", "/filings"): DEPARTMENTS,
    ("GET", "/filings/{filing_id:int}"): ANY,
    ("POST", "/filings/{filing_id:int}/acknowledge"): DEPARTMENTS,
    ("POST", "/filings/{filing_id:int}/return"): DEPARTMENTS,
    ("GET", "/filings/{filing_id:int}/report.docx"): ANY,
    ("GET", "/filings/{filing_id:int}/trainees.xlsx"): ANY,
    ("GET", "/api/v1/cohorts/{cohort_id:int}/filing"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/filing"): INSTITUTION,
    ("POST", "/api/v1/cohorts/{cohort_id:int}/filing/submit"): INSTITUTION,
    ("GET", "/api/v1/filings"): ANY,  # province all, city its own, institution its own
    ("GET", "/api/v1/filings/{filing_id:int}"): ANY,
    ("POST", "/api/v1/filings/{filing_id:int}/acknowledge"): DEPARTMENTS,
    ("POST", "/api/v1/filings/{filing_id:int}/return"): DEPARTMENTS,
    ("GET", "/api/v1/filings/{filing_id:int}/report.docx"): ANY,
    ("GET", "/api/v1/filings/{filing_id:int}/trainees.xlsx"): ANY,
    # (end of filings)
    # --- notifications inbox [scheduler/notifications helper] -----------------------------------
    # every signed-in user has an inbox (their organisation's); another organisation's notification is 404
    ("GET", "/notifications"): ANY,
    ("GET", "/notifications/badge"): ANY,
    ("POST", "/notifications/{notification_id:int}/read"): ANY,
    ("POST", "/notifications/read-all"): ANY,
    ("GET", "/api/v1/notifications"): ANY,
    ("GET", "/api/v1/notifications/unread-count"): ANY,
    ("POST", "/api/v1/notifications/{notification_id:int}/read"): ANY,
    ("POST", "/api/v1/notifications/read-all"): ANY,
    # (end of notifications)
    # --- dashboards, league table, stats API [dashboards helper] --------------------------------
    ("GET", "/dashboard"): ANY,
    ("GET", "/dashboard/cohorts"): ANY,
    ("GET", "/league"): DEPARTMENTS,
    ("GET", "/api/v1/stats/overview"): DEPARTMENTS,
    # (end of dashboards)
    # --- audit trail, anomaly review, list exports, API completion [audit/API helper] -----------
    ("GET", "/audit"): DEPARTMENTS,
    ("GET", "/audit/history"): DEPARTMENTS,
    ("GET", "/api/v1/audit"): DEPARTMENTS,
    ("GET", "/api/v1/audit/history"): DEPARTMENTS,
    ("GET", "/api/v1/audit/chain"): DEPARTMENTS,
    ("GET", "/api/v1/anomalies"): DEPARTMENTS,
    ("POST", "/api/v1/anomalies/{flag_id:int}/review"): DEPARTMENTS,
    # (end of audit/API)
}

# GET routes whose path names one scoped record: a city or institution gets its own (2xx) and not
# another city's or institution's (404). Value: the roles for which the own/other pair is checked.
SCOPED_GETS: dict[str, frozenset[str]] = {
    "/cohorts/{cohort_id:int}": only(C, INST),
    "/cohorts/{cohort_id:int}/enrollments": only(C, INST),
    "/cohorts/{cohort_id:int}/sessions": only(C, INST),
    "/cohorts/{cohort_id:int}/progress": only(C, INST),
    "/cohorts/{cohort_id:int}/assessment": only(C, INST),
    "/cohorts/{cohort_id:int}/certificates": only(C, INST),
    "/cohorts/{cohort_id:int}/enrollments/import": only(INST),
    "/cohorts/{cohort_id:int}/attendance/import": only(INST),
    "/cohorts/{cohort_id:int}/enrollments/template.xlsx": only(INST),
    "/cohorts/{cohort_id:int}/attendance/template.xlsx": only(INST),
    "/sessions/{session_id:int}/roll": only(C, INST),
    "/trainees/{trainee_id:int}/record": only(C, INST),
    "/certificates/{number:str}/certificate.docx": only(C, INST),
    "/certificates/{number:str}/certificate.pdf": only(C, INST),
    "/plans/{plan_id:int}": only(C),
    "/plans/{plan_id:int}/document.docx": only(C),
    "/plans/{plan_id:int}/document.pdf": only(C),
    "/api/v1/cohorts/{cohort_id:int}": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/enrollments": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/sessions": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/progress": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/assessments": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/certificates": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/enrollments/template.xlsx": only(INST),
    "/api/v1/cohorts/{cohort_id:int}/attendance/template.xlsx": only(INST),
    "/api/v1/sessions/{session_id:int}/attendance": only(C, INST),
    "/api/v1/assessments/{assessment_id:int}/results": only(C, INST),
    "/api/v1/trainees/{trainee_id:int}/record": only(C, INST),
    "/api/v1/certificates/{number:str}": only(C, INST),
    "/api/v1/certificates/{number:str}/document.docx": only(C, INST),
    "/api/v1/certificates/{number:str}/document.pdf": only(C, INST),
    "/api/v1/plans/{plan_id:int}": only(C),
    "/api/v1/plans/{plan_id:int}/lines": only(C),
    "/api/v1/plans/{plan_id:int}/lines/{line_id:int}": only(C),
    "/api/v1/plans/{plan_id:int}/progress": only(C),
    "/api/v1/plans/{plan_id:int}/document.docx": only(C),
    "/api/v1/plans/{plan_id:int}/document.pdf": only(C),
    "/api/v1/institutions/{institution_id:int}": only(INST),
    "/api/v1/institutions/{institution_id:int}/approvals": only(INST),
    # filings [filings helper]
    "/cohorts/{cohort_id:int}/filing": only(C, INST),
    "/filings/{filing_id:int}": only(C, INST),
    "/filings/{filing_id:int}/report.docx": only(C, INST),
    "/filings/{filing_id:int}/trainees.xlsx": only(C, INST),
    "/api/v1/cohorts/{cohort_id:int}/filing": only(INST),
    "/api/v1/filings/{filing_id:int}": only(C, INST),
    "/api/v1/filings/{filing_id:int}/report.docx": only(C, INST),
    "/api/v1/filings/{filing_id:int}/trainees.xlsx": only(C, INST),
    # dashboards [dashboards helper]
    # audit/API [audit/API helper]
}
