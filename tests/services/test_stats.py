"""Supervision figures (issue 7): every dashboard number equals an independent count from the
database; a city never sees another city's figures; bad filters are clear errors, never a 500."""

from __future__ import annotations

import statistics
from datetime import date

import pytest

from tests.dashboards_factories import Province, as_counts, independent, make_province
from training.errors import Forbidden, Invalid, NotFound
from training.rules.clock import today_in_china
from training.services import stats
from training.tables import (
    AssessmentResult,
    Certificate,
    Cohort,
    Enrollment,
    TrainingSession,
)


@pytest.fixture
async def province(database) -> Province:
    return await make_province()


async def test_every_province_dashboard_number_equals_an_independent_count(province: Province) -> None:
    dash = await stats.dashboard(province.province, province.year)
    assert as_counts(dash.totals) == await independent(None, province.year)
    assert len(dash.by_city) == 16
    for row in dash.by_city:
        assert as_counts(row) == await independent(row.key, province.year), row.key


async def test_the_figures_are_the_known_ones(province: Province) -> None:
    dash = await stats.dashboard(province.province, province.year)
    jinan = next(c for c in dash.by_city if c.key == "370100")
    qingdao = next(c for c in dash.by_city if c.key == "370200")
    assert (jinan.target, jinan.cohorts, jinan.capacity) == (100, 3, 180)
    assert (jinan.enrolled, jinan.completed, jinan.certified) == (8, 3, 2)
    assert (jinan.assessed, jinan.passed, jinan.pass_rate) == (4, 3, 75.0)
    assert (jinan.on_time, jinan.late, jinan.overdue, jinan.on_time_rate) == (1, 0, 1, 50.0)
    assert jinan.hours == {"online": {"theory": 0.0, "practice": 2.0}, "offline": {"theory": 4.0, "practice": 0.0}}
    assert (jinan.anomalies_open, jinan.anomalies_confirmed) == (1, 1)
    assert (qingdao.target, qingdao.overdue, qingdao.late, qingdao.anomalies_open) == (50, 2, 1, 1)
    assert dash.most_overdue_city.key == "370200"
    assert dash.totals.overdue == 3


async def test_the_year_filter_leaves_out_other_years(province: Province) -> None:
    other = await stats.dashboard(province.province, province.year - 1)
    assert other.totals.cohorts == other.totals.enrolled == other.totals.overdue == 0
    assert other.totals.target == 0


async def test_a_city_sees_only_its_own_figures(province: Province) -> None:
    dash = await stats.dashboard(province.jinan, province.year)
    assert [c.key for c in dash.by_city] == ["370100"]
    assert as_counts(dash.totals) == await independent("370100", province.year)
    with pytest.raises(NotFound):
        await stats.dashboard(province.jinan, province.year, "370200")
    with pytest.raises(NotFound):
        await stats.drill(province.jinan, figure="overdue", year=province.year, city="370200")
    with pytest.raises(NotFound):
        await stats.league(province.jinan, province.year, "370200")
    # the to-do list: its own overdue cohort, nothing of Qingdao's
    assert [item.id for item in dash.todo.overdue] == [province.cohorts["J1"]]
    assert dash.todo.anomalies_open == 1


async def test_the_province_may_look_at_one_city(province: Province) -> None:
    dash = await stats.dashboard(province.province, province.year, "370200")
    assert [c.key for c in dash.by_city] == ["370200"]
    assert as_counts(dash.totals) == await independent("370200", province.year)


@pytest.mark.parametrize("year", ["abc", "99999", "1999", "2026.5", " ", "-1"])
async def test_an_impossible_year_is_a_field_error(province: Province, year: str) -> None:
    if year.strip() == "":
        assert (await stats.dashboard(province.province, year.strip())).scope.year == today_in_china().year
        return
    with pytest.raises(Invalid) as caught:
        await stats.dashboard(province.province, year)
    assert "year" in caught.value.fields


@pytest.mark.parametrize("city", ["' OR 1=1 --", "3701", "37010a", "370100; DROP TABLE cohort"])
async def test_a_malformed_city_code_is_a_field_error(province: Province, city: str) -> None:
    with pytest.raises(Invalid) as caught:
        await stats.dashboard(province.province, province.year, city)
    assert "city" in caught.value.fields
    assert await Cohort.count() == len(province.cohorts)


async def test_an_unknown_city_is_not_found(province: Province) -> None:
    with pytest.raises(NotFound):
        await stats.dashboard(province.province, province.year, "999999")
    with pytest.raises(NotFound):  # a city naming a malformed code learns nothing either
        await stats.dashboard(province.jinan, province.year, "' OR 1=1 --")


async def test_an_institution_has_no_department_figures(province: Province) -> None:
    with pytest.raises(Forbidden):
        await stats.dashboard(province.institution, province.year)
    with pytest.raises(Forbidden):
        await stats.league(province.institution, province.year)
    with pytest.raises(NotFound):
        await stats.institution_dashboard(province.jinan, province.year)


async def test_the_drill_down_adds_up_to_the_figure(province: Province) -> None:
    dash = await stats.dashboard(province.province, province.year)
    for figure in ("cohorts", "enrolled", "completed", "certified", "assessed", "on_time", "late", "overdue"):
        found = await stats.drill(province.province, figure=figure, year=province.year)
        total = len(found.rows) if figure in ("cohorts", *stats.FILING_STATES) else getattr(found.totals, figure)
        assert total == getattr(dash.totals, figure), figure
    overdue = await stats.drill(province.province, figure="overdue", year=province.year, city="370200")
    assert {c.id for c in overdue.rows} == {province.cohorts["Q1"], province.cohorts["Q2"]}
    with pytest.raises(Invalid):
        await stats.drill(province.province, figure="<script>", year=province.year)
    with pytest.raises(Invalid):
        await stats.drill(province.province, figure="overdue", year=province.year, occupation="1 OR 1=1")


async def test_the_league_table_ranks_institutions_in_scope(province: Province) -> None:
    table = await stats.league(province.province, province.year, sort="pass_rate")
    rows = {r.key: r for r in table.rows}
    mine = rows[str(province.institution.institution_id)]
    assert (mine.pass_rate, mine.on_time_rate, mine.anomalies_confirmed, mine.enrolled) == (75.0, 0.0, 1, 6)
    assert table.rows[0] is mine  # the only institution with assessments
    city = await stats.league(province.jinan, province.year)
    cohort_institutions = {r["institution"] for r in await Cohort.select(Cohort.institution).where(
        Cohort.city.code == "370100")}
    assert {int(r.key) for r in city.rows} == cohort_institutions
    ascending = await stats.league(province.province, province.year, sort="enrolled", descending=False)
    values = [r.enrolled for r in ascending.rows]
    assert values == sorted(values)
    with pytest.raises(Invalid):
        await stats.league(province.province, province.year, sort="name; DROP TABLE cohort")
    with pytest.raises(Exception) as caught:  # noqa: PT011 - BadInput from the shared paging check
        await stats.league(province.province, province.year, page_size=10_000_000)
    assert caught.value.status_code == 400


async def test_the_institution_dashboard(province: Province) -> None:
    board = await stats.institution_dashboard(province.institution, province.year)
    own = await Cohort.select(Cohort.id).where(Cohort.institution == province.institution.institution_id)
    assert {c["id"] for c in own} == {province.cohorts["J1"], province.cohorts["J2"]}
    assert (board.figures.enrolled, board.figures.pass_rate, board.figures.on_time_rate) == (6, 75.0, 0.0)
    assert board.cohorts_by_status == {"assessed": 1, "in_training": 1}
    assert board.certificates == {"valid": 2, "revoked": 1}
    assert len(board.at_risk) == 2  # nobody in J2 can reach 128 hours with 3 hours left
    assert [f.id for f in board.filings_due] == [province.cohorts["J1"]]
    everyone = (await stats.league(province.province, province.year, page_size=200)).rows
    assert board.province_median_pass == statistics.median(r.pass_rate for r in everyone if r.pass_rate is not None)
    assert board.province_median_on_time == statistics.median(
        r.on_time_rate for r in everyone if r.on_time_rate is not None)


def test_filing_state_rule() -> None:
    today = date(2026, 6, 10)
    assert stats.filing_state("draft", False, False, date(2026, 6, 9), today) == "overdue"
    assert stats.filing_state("draft", False, False, date(2026, 6, 10), today) == "pending"
    assert stats.filing_state("submitted", True, False, date(2026, 6, 9), today) == "on_time"
    assert stats.filing_state("returned", True, True, date(2026, 6, 9), today) == "late"
    assert stats.rate(0, 0) is None
    assert stats.median([None, 50.0, 100.0]) == 75.0


async def test_the_figures_follow_every_kind_of_write(province: Province) -> None:
    """The summary tally is refreshed for exactly the cohorts the triggers marked."""
    await stats.dashboard(province.province, province.year)  # every tally fresh
    j2 = province.cohorts["J2"]
    await Enrollment.update({Enrollment.status: "withdrawn"}).where(
        (Enrollment.cohort == j2) & (Enrollment.status == "enrolled"))
    await Certificate.update({Certificate.status: "revoked"}).where(Certificate.cohort == province.cohorts["J1"])
    await AssessmentResult.update({AssessmentResult.passed: True}).where(AssessmentResult.passed == False)  # noqa: E712
    await TrainingSession.update({TrainingSession.roll_saved_at: None}).where(TrainingSession.cohort == j2)
    dash = await stats.dashboard(province.province, province.year)
    assert as_counts(dash.totals) == await independent(None, province.year)
    jinan = next(c for c in dash.by_city if c.key == "370100")
    assert (jinan.enrolled, jinan.certified, jinan.passed, jinan.hours_total) == (6, 0, 4, 0.0)
    await Enrollment.delete().where(Enrollment.cohort == j2)
    dash = await stats.dashboard(province.province, province.year)
    assert as_counts(dash.totals) == await independent(None, province.year)
