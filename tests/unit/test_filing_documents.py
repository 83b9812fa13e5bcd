"""The filing documents read back: the Word report with python-docx (and as a PDF through
LibreOffice), the xlsx trainee list with openpyxl. No database: packages from tests/filing_factories."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import date

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from openpyxl import load_workbook

from tests.filing_factories import sample_package
from training.documents import pdf
from training.documents.filing_report import build_report_docx, layout
from training.documents.filing_trainees import build_trainees_xlsx
from training.rules.filing import NARRATIVE_SECTIONS, PROVINCE_DEPARTMENT, TraineeLine
from training.settings import PROJECT_ROOT

HEADERS = ["序号", "姓名", "身份证号", "性别", "工作单位", "线上理论", "线上实践", "线下理论", "线下实践", "认定学时",
           "理论成绩", "实操成绩", "考核结果", "证书编号"]
OUTPUT = PROJECT_ROOT / "test-output" / "filing"


def hours_text(value: float) -> str:
    return f"{value:g}"


def expected_row(line: TraineeLine) -> list[str]:
    h = line.hours
    return [str(line.seq), line.name, line.id_number, line.sex, line.employer, hours_text(h.online_theory),
            hours_text(h.online_practice), hours_text(h.offline_theory), hours_text(h.offline_practice),
            hours_text(line.counted_hours), "" if line.theory_score is None else str(line.theory_score),
            "" if line.practice_score is None else str(line.practice_score), line.result, line.certificate_number]


def texts(row) -> list[str]:
    return [cell.text for cell in row.cells]


def trainee_tables(document) -> list:
    return [t for t in document.tables if texts(t.rows[0]) == HEADERS]


def paragraphs(document) -> list[str]:
    return [p.text for p in document.paragraphs]


@pytest.fixture(scope="module")
def package():
    return sample_package(30)


@pytest.fixture(scope="module")
def report(package) -> bytes:
    return build_report_docx(package)


@pytest.fixture(scope="module")
def document(report):
    return Document(io.BytesIO(report))


# --- the Word report --------------------------------------------------------------------------

def test_report_opens_with_title_and_both_addressees(package, document):
    texts_ = paragraphs(document)
    assert texts_[0] == package.title
    assert document.paragraphs[0].style.style_id == "FilingTitle"
    opening = next(t for t in texts_ if t.endswith("："))
    assert PROVINCE_DEPARTMENT in opening and "济南市人力资源和社会保障局" in opening
    assert package.addressees == [PROVINCE_DEPARTMENT, "济南市人力资源和社会保障局"]
    assert f"报送单位：{package.institution_name}" in texts_
    assert "报送日期：2026年11月24日" in texts_
    assert f"备案期限：{package.due_date.year}年{package.due_date.month}月{package.due_date.day}日前" in texts_


def test_cover_facts_table_lists_every_fact(package, document):
    facts = document.tables[0]
    assert [tuple(texts(row)) for row in facts.rows] == package.facts


def test_sections_appear_in_order(document):
    texts_ = paragraphs(document)
    headings = ["一、培训基本情况", "二、学时完成情况", "三、师资情况", "四、培训总结", "五、学员名册"]
    positions = [texts_.index(h) for h in headings]
    assert positions == sorted(positions)
    labels = [f"{n}{label}" for n, label in zip(["（一）", "（二）", "（三）", "（四）", "（五）"],
                                                NARRATIVE_SECTIONS.values(), strict=True)]
    label_positions = [texts_.index(label) for label in labels]
    assert positions[3] < label_positions[0] and label_positions == sorted(label_positions)
    assert label_positions[-1] < positions[4]


def test_summary_counts_match_the_package(package, document):
    counts = package.counts
    summary = next(t for t in paragraphs(document) if t.startswith("本期培训班共招收学员"))
    for fragment in (f"招收学员{counts.enrolled}人", f"退学{counts.withdrawn}人", f"条件{counts.eligible}人",
                     f"结业考核{counts.assessed}人", f"合格{counts.passed}人", f"证书{counts.certified}人"):
        assert fragment in summary
    counts_table = next(t for t in document.tables if texts(t.rows[0])[0] == "招收人数")
    assert texts(counts_table.rows[1]) == [str(v) for v in (counts.enrolled, counts.withdrawn, counts.eligible,
                                                            counts.assessed, counts.passed, counts.certified)]


def test_hours_table_totals_planned_and_delivered(package, document):
    table = next(t for t in document.tables if texts(t.rows[0])[:2] == ["教学形式", "内容类别"])
    rows = {tuple(texts(r)[:2]): texts(r)[2:] for r in table.rows[1:]}
    assert rows[("线下", "理论")][:2] == ["48", "46"]
    assert rows[("线上", "小计")][:2] == ["48", "48"]
    assert rows[("合计", "实践")][:2] == ["56", "56"]
    total = rows[("总计", "")]
    assert total[0] == hours_text(sum(r.planned for r in package.hours))
    assert total[1] == hours_text(sum(r.delivered for r in package.hours))
    assert total[2] == f"{100 * 142 / 144:.1f}%"
    assert f"学时要求：{package.requirement_note}" in paragraphs(document)


def test_teachers_table_with_total(package, document):
    table = next(t for t in document.tables if texts(t.rows[0]) == ["序号", "姓名", "授课课次", "授课学时"])
    body = [texts(r) for r in table.rows[1:]]
    assert body[:3] == [[str(i), t.name, str(t.sessions), hours_text(t.hours)]
                        for i, t in enumerate(package.teachers, start=1)]
    assert body[3] == ["合计", "3人", "38", "114.5"]


def test_narrative_sections_filled_and_empty(package, document):
    texts_ = paragraphs(document)
    assert "本期培训班由机构教务处统一组织，配备专职班主任2名。" in texts_
    assert "开班前完成学员资格审核和分班。" in texts_  # one paragraph per line of the text
    problems = texts_.index("（五）存在问题及改进措施")
    assert texts_[problems + 1] == "（未填写）"


def test_all_empty_narrative_shows_five_placeholders():
    package = sample_package(3, narrative={})
    document = Document(io.BytesIO(build_report_docx(package)))
    assert paragraphs(document).count("（未填写）") == len(NARRATIVE_SECTIONS)


def test_trainee_table_matches_the_package_row_for_row(package, document):
    tables = trainee_tables(document)
    assert len(tables) == 1
    rows = [texts(r) for r in tables[0].rows[1:]]
    assert len(rows) == len(package.trainees)
    assert rows == [expected_row(line) for line in package.trainees]
    for row in rows:
        assert len(row[2]) == 18 and "*" not in row[2]  # the whole ID number
    assert any(r[10] == "" and r[12] == "缺考" for r in rows)  # no score written for an absence


def test_trainee_header_row_repeats_and_rows_do_not_split(document):
    table = trainee_tables(document)[0]
    header_pr = table.rows[0]._tr.trPr
    flag = header_pr.find(qn("w:tblHeader"))
    assert flag is not None and flag.get(qn("w:val")) in (None, "true", "1")
    for row in table.rows[1:]:
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert row._tr.trPr.find(qn("w:tblHeader")) is None


def test_trainee_table_is_landscape_and_the_rest_portrait(document):
    first, last = document.sections[0], document.sections[-1]
    assert first.page_width < first.page_height
    assert last.page_width > last.page_height
    assert round(last.page_width.cm, 1) == 29.7 and round(last.page_height.cm, 1) == 21.0


def test_large_cohort_is_split_into_tables_with_the_header_each(tmp_path):
    chunk = layout()["trainee_chunk_rows"]
    package = sample_package(2 * chunk + 7)
    document = Document(io.BytesIO(build_report_docx(package)))
    tables = trainee_tables(document)
    assert [len(t.rows) - 1 for t in tables] == [chunk, chunk, 7]
    seqs = [int(r._tr.tc_lst[0].xpath("string(.)")) for t in tables for r in t.rows[1:]]
    assert seqs == list(range(1, len(package.trainees) + 1))
    for table in tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_no_trainees_still_builds_a_header_only_table():
    package = sample_package(0)
    document = Document(io.BytesIO(build_report_docx(package)))
    assert [len(t.rows) for t in trainee_tables(document)] == [1]


def test_control_characters_in_the_data_are_dropped_not_fatal():
    package = sample_package(3, narrative={"teaching": "第一段\x01第二段"})
    package.trainees[1].employer = "济南\x0b某某公司"
    document = Document(io.BytesIO(build_report_docx(package)))
    rows = [texts(r) for r in trainee_tables(document)[0].rows[1:]]
    assert rows[1][4] == "济南某某公司"
    assert "第一段第二段" in paragraphs(document)
    sheet = load_workbook(io.BytesIO(build_trainees_xlsx(package)))["学员名册"]
    assert sheet["G4"].value == "济南某某公司"


def test_footer_has_page_and_page_count_fields(report, document):
    footer = document.sections[0].footer
    xml = footer._element.xml
    instructions = [e.text.strip() for e in footer._element.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert "第 " in footer.paragraphs[0].text and " 页 共 " in footer.paragraphs[0].text
    assert 'w:fldCharType="begin"' in xml and 'w:fldCharType="end"' in xml
    assert document.sections[-1].footer.is_linked_to_previous  # the landscape pages number on


def test_chinese_fonts_set_through_east_asia(report, document):
    styles = document.styles
    def east_asia(style_id: str) -> str | None:
        style = next(s for s in styles if s.style_id == style_id)
        return style.element.rPr.rFonts.get(qn("w:eastAsia"))
    assert east_asia("Normal") == "仿宋"
    assert east_asia("FilingBody") == "仿宋"
    assert east_asia("FilingHeading") == "黑体"
    assert east_asia("FilingTitle") == "方正小标宋简体"
    assert east_asia("FilingTrainees") == "宋体"
    normal = next(s for s in styles if s.style_id == "Normal")
    assert normal.element.rPr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    with zipfile.ZipFile(io.BytesIO(report)) as archive:
        fonts = archive.read("word/fontTable.xml").decode()
    assert 'w:name="仿宋"' in fonts and "Noto Serif CJK SC" in fonts and "Noto Sans CJK SC" in fonts


def test_institution_seal_and_date_at_the_end(package, document):
    tail = [p for p in document.paragraphs if p.text][-3:]
    assert [p.text for p in tail] == [package.institution_name, "（盖章）", "2026年11月24日"]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.RIGHT for p in tail)


def test_report_is_byte_stable(package, report):
    again = build_report_docx(sample_package(30))
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(report).hexdigest()
    with zipfile.ZipFile(io.BytesIO(report)) as archive:
        assert {info.date_time[:3] for info in archive.infolist()} == {(2026, 11, 24)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-11-24T00:00:00Z" in core and "2013" not in core
    changed = build_report_docx(replace(package, version_number=2))
    assert changed != report
    assert "（第2版）" in paragraphs(Document(io.BytesIO(changed)))


DIGESTS = """
import hashlib
from tests.filing_factories import sample_package
from training.documents.filing_report import build_report_docx
from training.documents.filing_trainees import build_trainees_xlsx
package = sample_package(12)
print(hashlib.sha256(build_report_docx(package)).hexdigest(), hashlib.sha256(build_trainees_xlsx(package)).hexdigest())
"""


def test_digests_are_the_same_in_another_process_hash_seed_and_time_zone():
    """A frozen package is checked again later, by another worker: nothing may depend on the process."""
    runs = set()
    for seed, zone in (("1", "UTC"), ("2", "Asia/Shanghai")):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": zone}
        result = subprocess.run([sys.executable, "-c", DIGESTS], capture_output=True, text=True, check=True, env=env,
                                cwd=PROJECT_ROOT)
        runs.add(result.stdout.strip())
    assert len(runs) == 1


# --- the xlsx trainee list --------------------------------------------------------------------

@pytest.fixture(scope="module")
def workbook(package):
    return load_workbook(io.BytesIO(build_trainees_xlsx(package)))


def test_xlsx_lists_every_trainee_with_whole_id_as_text(package, workbook):
    sheet = workbook["学员名册"]
    assert workbook.sheetnames == ["学员名册", "汇总"]
    assert package.title in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["序号", "姓名", "身份证号", "性别"]
    assert sheet.freeze_panes == "A3"
    rows = list(sheet.iter_rows(min_row=3))
    assert len(rows) == len(package.trainees)
    column = {name: i for i, name in enumerate(header)}
    for row, line in zip(rows, package.trainees, strict=True):
        id_cell = row[column["身份证号"]]
        assert id_cell.data_type == "s" and id_cell.value == line.id_number and len(id_cell.value) == 18
        assert id_cell.number_format == "@"
        assert row[column["序号"]].value == line.seq
        assert row[column["姓名"]].value == line.name
        assert row[column["线下实践"]].value == line.hours.offline_practice
        assert row[column["总学时"]].value == line.hours.total
        assert row[column["认定学时"]].value == line.counted_hours
        assert row[column["理论成绩"]].value == line.theory_score
        assert row[column["考核结果"]].value == line.result
        assert (row[column["证书编号"]].value or "") == line.certificate_number
    passed = sum(1 for r in rows if r[column["考核结果"]].value == "合格")
    assert passed == package.counts.passed


def test_xlsx_summary_sheet_totals(package, workbook):
    values = {row[0]: row[1] for row in workbook["汇总"].iter_rows(values_only=True) if row and row[0]}
    counts = package.counts
    assert values["招收人数"] == counts.enrolled
    assert values["考核合格"] == counts.passed
    assert values["颁发证书"] == counts.certified
    assert values["名册人数"] == len(package.trainees)
    assert values["合计"] == sum(r.planned for r in package.hours)
    assert values["报送对象"] == "、".join(package.addressees)


def test_xlsx_is_byte_stable(package):
    first = build_trainees_xlsx(package)
    assert build_trainees_xlsx(sample_package(30)) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time[:3] for info in archive.infolist()} == {(2026, 11, 24)}
        assert "2026-11-24T00:00:00Z" in archive.read("docProps/core.xml").decode()
    assert build_trainees_xlsx(replace(package, generated_on=date(2026, 11, 25))) != first


# --- the PDF ----------------------------------------------------------------------------------

@pytest.mark.skipif(pdf.soffice() is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_report_converts_to_pdf_with_names_and_id_header(package, report):
    result = pdf.convert_docx(report)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    target = OUTPUT / "filing_report_30.pdf"
    target.write_bytes(result)
    (OUTPUT / "filing_report_30.docx").write_bytes(report)
    (OUTPUT / "filing_trainees_30.xlsx").write_bytes(build_trainees_xlsx(package))
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert package.title.split()[0] in text
    assert "身份证号" in text
    for line in package.trainees:
        assert line.name in text and line.id_number in text  # the 18 digits on one line
    pages = text.split("\f")[:-1]
    compact = [page.replace(" ", "") for page in pages]
    assert all(f"第{n}页共{len(pages)}页" in page for n, page in enumerate(compact, start=1))
    roster = next(n for n, page in enumerate(compact, start=1) if "五、学员名册" in page)
    if shutil.which("pdftoppm"):
        for page in (1, roster):
            subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                            str(target), str(OUTPUT / f"filing_report_30_page{page}")], check=True)
        assert (OUTPUT / "filing_report_30_page1.png").stat().st_size > 0
