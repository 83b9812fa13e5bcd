"""Journeys (b) and (c), issue 8, in a real browser on the demo province.

(b) The clerk of a Jinan training school enrolls trainees from a spreadsheet (file upload), fills a
session's roll with the keyboard only, records the final assessment results on the results grid,
issues the training certificates and submits the cohort's filing.
(c) The province acknowledges that filing, opens the dashboard, and anyone verifies one of the new
certificates on the public page.

The steps build on each other (module order); a later one skips, naming the reason, when an
earlier one failed. Each final screen is saved under test-output/screenshots/journey_[bc]_*.png."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook

from tests.browser.conftest import DEMO_PASSWORD, shot, sign_in
from training.rules.clock import today_in_china
from training.rules.identity import id_check_character

pytestmark = pytest.mark.browser
NEW_TRAINEES = [("浏览器甲", 701), ("浏览器乙", 703), ("浏览器丙", 705)]
NARRATIVE = ("按计划组织开班，班主任全程跟班管理。", "理论教学按课程表完成，线上线下结合。",
             "实操训练在实训室分组进行。", "考核合格率较高，合格学员已发证。", "个别学员出勤不足，已督促补课。")
JOURNEY: dict[str, str] = {}  # what a step leaves for the next: the cohort, a certificate


def _after(step: str) -> str:
    if step not in JOURNEY:
        pytest.skip(f"the earlier journey step '{step}' did not finish")
    return JOURNEY[step]


def _id_number(seq: int) -> str:
    body = f"370102{date(1999, 9, 9):%Y%m%d}{seq:03d}"
    return body + id_check_character(body)


def _enrollment_sheet(tmp_path) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号", "学历", "工作单位"])
    for name, seq in NEW_TRAINEES:
        sheet.append([name, _id_number(seq), f"1380000{seq:04d}", "大学本科", "济南某某科技有限公司"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "名单.xlsx"
    path.write_bytes(buffer.getvalue())
    return str(path)


def _open_cohort(page, status_label: str) -> str:
    """From the cohorts list, open the first cohort in ``status_label``; returns its detail URL."""
    page.click("nav.mainnav >> text=培训班")
    page.locator("tr", has_text=status_label).first.locator("a[href^='/cohorts/']").first.click()
    page.wait_for_url(re.compile(r"/cohorts/\d+$"))
    return page.url


def test_clerk_enrolls_from_a_spreadsheet_fills_a_roll_by_keyboard_records_results_issues_certificates(
        page, demo_live, tmp_path):
    server = demo_live
    sign_in(page, server, "jinan-school", DEMO_PASSWORD)

    # 1. Enroll trainees from an xlsx file into the cohort now in training.
    cohort_url = _open_cohort(page, "培训中")
    page.goto(f"{cohort_url}/enrollments")
    before = page.locator("table.grid tbody tr").count()
    page.click("text=批量导入名单")
    page.wait_for_url(re.compile(r"/enrollments/import$"))
    page.set_input_files("input[type=file][name=file]", _enrollment_sheet(tmp_path))
    page.click("button:has-text('上传并导入')")
    result = page.locator("#import-result [role=status]")
    result.wait_for()
    assert "导入成功" in result.inner_text() and f"报名 {len(NEW_TRAINEES)} 人" in result.inner_text()
    shot(page, "journey_b_1_enrolled_from_spreadsheet")
    page.goto(f"{cohort_url}/enrollments")
    listed = page.locator("table.grid").first.inner_text()
    assert all(name in listed for name, _ in NEW_TRAINEES)
    assert page.locator("table.grid tbody tr").count() >= before + len(NEW_TRAINEES) - 1  # paged lists allowed
    assert _id_number(701) not in page.content()  # ID numbers are masked on the list

    # 2. The roll of the latest session already held, filled with the keyboard only.
    page.goto(f"{cohort_url}/sessions")
    today = today_in_china()
    held = []
    for link in page.locator("a[href$='/roll']").all():
        row = link.locator("xpath=ancestor::tr[1]").inner_text()
        found = re.search(r"\d{4}-\d{2}-\d{2}", row)
        if found and date.fromisoformat(found.group()) < today:
            held.append((found.group(), link.get_attribute("href")))
    assert held, "no session held yet in the cohort in training"
    page.goto(server.url + max(held)[1])
    selects = page.locator("#roll select.status")
    count = selects.count()
    assert count >= 3
    # The newly enrolled people joined after this session: listed, not recordable.
    late_rows = page.locator("#roll tr", has_text="浏览器甲")
    assert "报名晚于本课次" in late_rows.inner_text()
    selects.first.focus()
    page.keyboard.press("Alt+A")  # everyone present
    assert {s.input_value() for s in selects.all()} == {"present"}
    selects.nth(1).focus()
    page.keyboard.press("4")  # absent; the focus moves to the next row
    page.keyboard.press("2")  # late; the focus moves to its hours
    page.keyboard.type("1.5")
    page.keyboard.press("Enter")  # next row
    page.keyboard.press("5")  # excused
    absent_id = selects.nth(1).get_attribute("data-id")
    late_id = selects.nth(2).get_attribute("data-id")
    excused_id = selects.nth(3).get_attribute("data-id")
    page.keyboard.press("Control+Enter")  # save
    notice = page.locator("#roll [role=status]")
    notice.wait_for()
    assert "考勤已保存" in notice.inner_text()
    page.reload()
    assert page.locator(f"select[data-id='{absent_id}']").input_value() == "absent"
    assert page.locator(f"select[data-id='{late_id}']").input_value() == "late"
    assert page.locator(f"#hours_{late_id}").input_value() in ("1.5", "1.50")
    assert page.locator(f"select[data-id='{excused_id}']").input_value() == "excused"
    assert page.locator(f"#hours_{absent_id}").input_value() in ("0", "0.0")
    shot(page, "journey_b_2_roll_saved_by_keyboard")

    # 3. Results on the assessment grid of the cohort whose training has ended.
    ended_url = _open_cohort(page, "培训结束")
    page.goto(f"{ended_url}/assessment")
    page.click("button:has-text('安排考核')")
    page.wait_for_load_state()
    theory = page.locator("input.score[name^=theory_]")
    rows = theory.count()
    assert rows >= 2, "no trainee may sit the assessment"
    theory.first.focus()
    for index in range(rows):
        page.keyboard.type("45" if index == 0 else str(70 + index % 25))  # the first one fails theory
        page.keyboard.press("Tab")
        page.keyboard.type("88")
        if index + 1 < rows:
            theory.nth(index + 1).focus()
    page.click("button:has-text('保存全部成绩')")
    page.wait_for_load_state()
    sitting = page.locator("section.sitting").first
    assert f"已录入 {rows} / " in sitting.inner_text()
    assert f"合格 {rows - 1}" in sitting.inner_text() and "不合格 1" in sitting.inner_text()
    shot(page, "journey_b_3_results_recorded")

    # 4. Certificates for everyone who passed.
    page.goto(f"{ended_url}/certificates")
    page.click("button:has-text('为全部合格学员发证')")
    page.wait_for_load_state()
    assert page.locator("[role=status]").count() >= 1
    numbers = set(re.findall(r"DTE-\d{4}-370100-\d{5}", page.locator("main").inner_text()))
    assert len(numbers) >= rows - 1, numbers
    shot(page, "journey_b_4_certificates_issued")
    first = page.locator("table.grid tbody tr").first
    JOURNEY["certificates"] = ended_url
    JOURNEY["certificate"] = first.locator("td").nth(0).inner_text().strip()
    JOURNEY["holder"] = first.locator("td").nth(1).inner_text().strip()


def test_clerk_submits_the_filing_of_the_assessed_cohort(page, demo_live):
    cohort_url = _after("certificates")
    sign_in(page, demo_live, "jinan-school", DEMO_PASSWORD)
    page.goto(f"{cohort_url}/filing")
    form = page.locator("#narrative-form")
    for index, text in enumerate(NARRATIVE):
        form.locator("textarea").nth(index).fill(text)
    form.locator("button:has-text('保存')").click()
    page.wait_for_url(re.compile(r"/filing\?notice=saved$"))
    assert "备案说明已保存" in page.locator("[role=status]").first.inner_text()
    submit = page.locator("form[action$='/filing/submit'] button[type=submit]")
    assert submit.is_enabled(), page.locator("form[action$='/filing/submit']").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())  # 确认报送？
    submit.click()
    page.wait_for_url(re.compile(r"/filing\?notice=submitted$"))
    assert "备案材料已报送省人社厅和市人社局" in page.locator("[role=status]").first.inner_text()
    assert page.locator("#narrative-form").count() == 0  # frozen once submitted
    shot(page, "journey_b_5_filing_submitted")
    page.goto(cohort_url)
    assert "已备案待确认" in page.locator("h1 .badge").inner_text()
    JOURNEY["filed"] = cohort_url


def test_province_acknowledges_the_filing_opens_the_dashboard_and_anyone_verifies_a_certificate(
        page, browser, demo_live):
    cohort_url = _after("filed")
    sign_in(page, demo_live, "province", DEMO_PASSWORD)
    page.goto(cohort_url)
    code = re.search(r"C\d{4}-\d{6}-\d{3}", page.locator("main").inner_text()).group()
    page.click("nav.mainnav >> text=备案")
    page.wait_for_url(re.compile(r"/filings"))
    page.locator("table a[href^='/filings/']", has_text=code).first.click()
    page.wait_for_url(re.compile(r"/filings/\d+$"))
    assert "已报送" in page.locator("main").inner_text() or "待备案" in page.locator("main").inner_text()
    page.click("button:has-text('确认备案')")
    page.wait_for_load_state()
    assert "已确认备案" in page.locator("[role=status]").first.inner_text()
    assert page.locator("button:has-text('确认备案')").count() == 0
    shot(page, "journey_c_1_filing_acknowledged")

    page.click("nav.mainnav >> text=监管看板")
    page.wait_for_url(re.compile(r"/dashboard"))
    assert page.locator("h1").inner_text().startswith("全省监管看板")
    assert page.locator("main section, main .card").count() >= 3
    shot(page, "journey_c_2_dashboard")

    # The public verification page, in a fresh browser context (nobody signed in).
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    public = context.new_page()
    try:
        public.goto(f"{demo_live.url}/verify")
        public.fill("input[name=number]", JOURNEY["certificate"])
        public.fill("input[name=name]", JOURNEY["holder"])
        public.click("button:has-text('查验')")
        public.wait_for_load_state()
        assert public.locator("h1").inner_text() == "培训合格证书查验结果"
        assert "证书有效" in public.locator("[role=status]").inner_text()
        assert JOURNEY["certificate"] in public.locator("main").inner_text()
        shot(public, "journey_c_3_certificate_verified")
    finally:
        context.close()
