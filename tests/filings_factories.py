"""Builders for the filing area: an assessed cohort with certificates, its draft filing with a
complete narrative, and the department users who receive it."""

from __future__ import annotations

from typing import Any

from tests.certificates_factories import assessed_cohort
from tests.factories import make_user
from training.rules.filing import NARRATIVE_SECTIONS
from training.services import certificates, filings
from training.tables import Cohort, Filing

NARRATIVE = {key: f"{label}：本期培训按计划实施，情况良好。" for key, label in NARRATIVE_SECTIONS.items()}


async def filing_ready(city_code: str = "370100", *, passed: int = 3, failed: int = 1, withdrawn: int = 0,
                       narrative: dict[str, str] | None = None, with_narrative: bool = True,
                       certify: bool = True) -> dict[str, Any]:
    """An assessed cohort (first sitting today), certificates issued, its draft with a narrative."""
    cohort = await assessed_cohort(city_code, passed=passed, failed=failed)
    if withdrawn:
        from tests.attendance_factories import make_enrollment
        from tests.factories import id_number
        from training.tables import Enrollment

        for n in range(withdrawn):
            person = await make_enrollment(cohort["id"], name=f"退学{n}", number=id_number())
            await Enrollment.update({Enrollment.status: "withdrawn"}).where(Enrollment.id == person["id"])
    actor = cohort["actor"]
    if certify:
        await certificates.issue_all(actor, cohort["id"])
    await filings.ensure_drafts()
    draft = await Filing.select().where(Filing.cohort == cohort["id"]).first()
    if with_narrative:
        draft = await filings.save_narrative(actor, cohort["id"], narrative or NARRATIVE, draft["lock_version"])
    return {**cohort, "filing_id": draft["id"]}


async def departments(city_code: str = "370100") -> dict[str, Any]:
    return {"province": await make_user("province"), "city": await make_user("city", city_code)}


async def cohort_status(cohort_id: int) -> str:
    return (await Cohort.select(Cohort.status).where(Cohort.id == cohort_id).first())["status"]
