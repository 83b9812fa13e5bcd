"""Progress and eligibility against the cohort's standard (junior: 128 h, ≥ 48 practice, ≤ 50 % online)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import make_user
from training.errors import NotFound
from training.rules.clock import today_in_china
from training.services import progress
from training.tables import Attendance


async def credit(enrollment_id: int, session_id: int, hours: float, status: str = "present") -> None:
    await Attendance.insert(Attendance(enrollment=enrollment_id, session=session_id, status=status,
                                       credited_hours=hours))


async def test_progress_and_eligibility_numbers(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    done = await make_enrollment(cohort["id"], name="达标")
    capped = await make_enrollment(cohort["id"], name="线上超限")
    short = await make_enrollment(cohort["id"], name="实操不足")
    past = today_in_china() - timedelta(days=2)
    online_theory = await make_session(cohort["id"], day=past, mode="online", kind="theory", hours=100)
    offline_practice = await make_session(cohort["id"], day=past, mode="offline", kind="practice", hours=50)
    offline_theory = await make_session(cohort["id"], day=past, mode="offline", kind="theory", hours=20)
    await credit(done["id"], online_theory, 60)
    await credit(done["id"], offline_practice, 50)
    await credit(done["id"], offline_theory, 20)
    await credit(capped["id"], online_theory, 100)      # only 64 of these count
    await credit(capped["id"], offline_practice, 50)
    await credit(short["id"], online_theory, 60)
    await credit(short["id"], offline_practice, 40)
    await credit(short["id"], offline_theory, 20)
    result = await progress.cohort_progress(actor, cohort["id"])
    assert result.requirement.required_hours == 128 and result.illustrative
    by_name = {t.name: t for t in result.trainees}
    assert by_name["达标"].eligibility.eligible
    assert by_name["达标"].eligibility.countable_total == 130
    assert by_name["达标"].hours.get("online", "theory") == 60
    capped_verdict = by_name["线上超限"].eligibility
    assert not capped_verdict.eligible and capped_verdict.countable_total == 114 and capped_verdict.online_counted == 64
    assert "线上学时最多计入 64" in capped_verdict.reasons[0]
    assert not by_name["实操不足"].eligibility.eligible
    assert any("实操学时 40" in r for r in by_name["实操不足"].eligibility.reasons)
    assert result.eligible_count == 1
    # nothing remains scheduled, so everyone not eligible is at risk
    assert {t.name for t in result.at_risk} == {"线上超限", "实操不足"}


async def test_at_risk_accounts_for_remaining_sessions(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    person = await make_enrollment(cohort["id"])
    future = today_in_china() + timedelta(days=3)
    await make_session(cohort["id"], day=future, mode="offline", kind="practice", hours=60)
    await make_session(cohort["id"], day=future + timedelta(days=1), mode="offline", kind="theory", hours=60)
    result = await progress.cohort_progress(actor, cohort["id"])
    assert result.remaining.total == 120
    assert result.trainees[0].at_risk  # 120 < 128 even if present everywhere
    await make_session(cohort["id"], day=future + timedelta(days=2), mode="online", kind="theory", hours=10)
    result = await progress.cohort_progress(actor, cohort["id"])
    assert not result.trainees[0].at_risk
    assert person["id"] == result.trainees[0].enrollment_id


async def test_progress_visible_to_city_and_province_not_to_another_city(database):
    cohort = await make_cohort()
    await make_enrollment(cohort["id"])
    for actor in (await make_user("city", "370100"), await make_user("province")):
        assert len((await progress.cohort_progress(actor, cohort["id"])).trainees) == 1
    with pytest.raises(NotFound):
        await progress.cohort_progress(await make_user("city", "370200"), cohort["id"])
