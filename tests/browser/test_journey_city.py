"""Journey (a), issue 8: the city officer of Jinan writes next year's annual plan in a real browser,
adds a line, submits it to the province, then approves an institution's pending cohort. Every step
goes through the pages a person uses; what the page shows after each step is checked."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DEMO_PASSWORD, shot, sign_in

pytestmark = pytest.mark.browser


def test_city_officer_writes_and_submits_a_plan_then_approves_a_cohort(page, demo_live):
    server = demo_live
    sign_in(page, server, "jinan", DEMO_PASSWORD)

    # A new annual plan for a year the city has none yet (the page suggests it).
    page.click("nav.mainnav >> text=年度计划")
    page.wait_for_url(re.compile(r"/plans$"))
    create = page.locator("form[action='/plans'][method=post]")
    year = create.locator("select[name=year]").input_value()
    create.locator("input[name=title]").fill(f"济南市{year}年数字技术工程师培育计划（浏览器测试）")
    create.locator("button:has-text('新建计划')").click()
    page.wait_for_url(re.compile(r"/plans/\d+$"))
    assert page.locator("h1").inner_text() == f"济南市{year}年数字技术工程师培育计划（浏览器测试）"
    assert page.locator(".badge.draft").first.inner_text() == "草稿"
    assert "暂无计划明细" in page.locator("table.grid").first.inner_text()
    assert page.locator("button:has-text('提交省厅')").count() == 0  # nothing to submit without a line

    # One line: the first occupation, junior level, 120 people.
    form = page.locator("form[action$='/lines']")
    occupation = form.locator("select[name=occupation_id] option").nth(1)
    occupation_label = occupation.inner_text().split("·")[-1].strip()
    form.locator("select[name=occupation_id]").select_option(occupation.get_attribute("value"))
    form.locator("input[name=target_headcount]").fill("120")
    form.locator("input[name=note]").fill("浏览器测试明细")
    form.locator("button:has-text('添加明细')").click()
    page.wait_for_load_state()
    assert page.locator("[role=alert]").count() == 0, page.locator("[role=alert]").all_inner_texts()
    lines = page.locator("table.grid").first.inner_text()
    assert occupation_label in lines and "120" in lines

    # Submit to the province.
    page.click("button:has-text('提交省厅')")
    page.wait_for_load_state()
    assert page.locator(".badge.submitted").first.inner_text() == "已提交"
    assert page.locator("form[action$='/lines']").count() == 0  # lines are frozen once submitted
    shot(page, "journey_a_1_plan_submitted")
    page.click("nav.mainnav >> text=年度计划")
    listed = page.locator("table.grid").first.inner_text()
    assert f"济南市{year}年数字技术工程师培育计划（浏览器测试）" in listed and "已提交" in listed

    # Approve a cohort an institution submitted: the cohorts page says how many wait.
    page.click("nav.mainnav >> text=培训班")
    page.click("text=个开班申请待本局审批")
    page.wait_for_url(re.compile(r"/cohorts\?status=submitted"))
    first = page.locator("table a[href^='/cohorts/']").first
    code = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/cohorts/\d+$"))
    assert "待审批" in page.locator("h1 .badge").inner_text()
    page.click("button:has-text('批准开班')")
    page.wait_for_load_state()
    assert page.locator("h1 .badge").inner_text() == "已批准"
    assert page.locator("button:has-text('批准开班')").count() == 0
    assert code in page.content()
    shot(page, "journey_a_2_cohort_approved")
