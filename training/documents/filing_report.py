"""The filing report (培训备案材料) as an official Word document, from a ``FilingPackage``.

Portrait A4: title, the addressees (province department and city bureau), the cover facts, then
一 基本情况 (counts), 二 学时完成情况 (planned against delivered by mode × kind), 三 师资情况,
四 培训总结 (the five narrative sections). Landscape A4: 五 学员名册 — the trainee table with its
header row repeated on every page — then the institution, （盖章） and the date. Page numbers
(第 X 页 共 Y 页) in the footer of every page.

Wording, fonts, sizes, margins and the trainee columns come from ``reports/filing_layout.json``
(defaults below), so the layout can change without touching code.

Speed: the trainee table is built from ONE template row deep-copied with lxml per trainee, its
``w:t`` texts set directly (on the template, just before each copy) (MEASURED.md: ``table.cell()`` is quadratic, ``add_row()`` ~1 ms a row).
LibreOffice lays one big table out in quadratic time, so cohorts above ``trainee_chunk_rows`` get
several consecutive tables of that many rows, each with the repeated header row.

Deterministic: the same package gives the same bytes (fixed core-property dates and zip dates),
because a submitted package is frozen by its SHA-256.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt
from lxml import etree

from training.documents.docx_common import (
    add_field,
    chinese_date,
    keep_together,
    repeat_header,
    save_docx,
    set_style,
    xml_text,
)
from training.rules.filing import NARRATIVE_SECTIONS, FilingPackage, TraineeLine
from training.rules.hours import KINDS, MODES
from training.settings import PROJECT_ROOT

LAYOUT_PATH = PROJECT_ROOT / "reports" / "filing_layout.json"
MODE_LABELS = {"online": "线上", "offline": "线下"}
KIND_LABELS = {"theory": "理论", "practice": "实践"}
SUBSECTION_NUMBERS = ("（一）", "（二）", "（三）", "（四）", "（五）", "（六）", "（七）", "（八）")
HOURS_HEADERS = ("教学形式", "内容类别", "计划学时", "实际完成学时", "完成率")
TEACHER_HEADERS = ("序号", "姓名", "授课课次", "授课学时")
W_T = qn("w:t")
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}
# Chinese charset (GB2312) for the font table, so Word substitutes a Chinese face when one is missing.
GB2312_CHARSET = "86"
STYLE_IDS = {"title": "FilingTitle", "heading": "FilingHeading", "subheading": "FilingSubheading",
             "body": "FilingBody", "table": "FilingTable", "trainees": "FilingTrainees", "footer": "FilingFooter"}

DEFAULT_LAYOUT: dict[str, Any] = {
    "fonts": {
        "latin": "Times New Roman",
        "title": ["方正小标宋简体", "宋体", "Noto Serif CJK SC"],
        "heading": ["黑体", "Noto Sans CJK SC"],
        "subheading": ["楷体", "Noto Serif CJK SC"],
        "body": ["仿宋", "Noto Serif CJK SC"],
        "table": ["宋体", "Noto Serif CJK SC"],
    },
    "sizes": {"title": 22, "heading": 16, "subheading": 15, "body": 14, "table": 10.5, "trainees": 9, "footer": 10.5},
    "portrait_margins_cm": {"top": 3.0, "bottom": 2.6, "left": 2.8, "right": 2.6},
    "landscape_margins_cm": {"top": 2.0, "bottom": 1.8, "left": 1.27, "right": 1.27},
    "opening": "根据山东省数字技术工程师培育项目有关规定，现将本期培训班组织实施情况及学员名册报送如下，请予备案。",
    "headings": {"summary": "一、培训基本情况", "hours": "二、学时完成情况", "teachers": "三、师资情况",
                 "narrative": "四、培训总结", "trainees": "五、学员名册"},
    "summary": "本期培训班共招收学员{enrolled}人，其中退学{withdrawn}人；达到结业考核条件{eligible}人，参加结业考核"
               "{assessed}人，考核合格{passed}人，合格率{pass_rate}；已颁发培训合格证书{certified}人。",
    "requirement": "学时要求：{note}",
    "empty_narrative": "（未填写）",
    "trainee_total": "学员名册共{count}人，其中考核合格{passed}人。",
    "seal": "（盖章）",
    "footer": "第 {PAGE} 页 共 {NUMPAGES} 页",
    "trainee_columns": [
        {"header": h, "cm": w, "align": "left" if h == "工作单位" else "center"}
        for h, w in (("序号", 0.9), ("姓名", 1.6), ("身份证号", 4.0), ("性别", 0.9), ("工作单位", 4.21),
                     ("线上理论", 1.5), ("线上实践", 1.5), ("线下理论", 1.5), ("线下实践", 1.5), ("认定学时", 1.5),
                     ("理论成绩", 1.5), ("实操成绩", 1.5), ("考核结果", 1.5), ("证书编号", 3.55))
    ],
    "trainee_chunk_rows": 500,
}
TRAINEE_HEADERS = tuple(c["header"] for c in DEFAULT_LAYOUT["trainee_columns"])


@lru_cache(maxsize=1)
def _layout_file(mtime: float) -> dict[str, Any]:
    return json.loads(LAYOUT_PATH.read_text(encoding="utf-8"))


def layout() -> dict[str, Any]:
    """The defaults overlaid with ``reports/filing_layout.json`` (top-level keys replace)."""
    values = copy.deepcopy(DEFAULT_LAYOUT)
    if LAYOUT_PATH.exists():
        values.update(copy.deepcopy(_layout_file(LAYOUT_PATH.stat().st_mtime)))
    return values


def number(value: float | int | None) -> str:
    """Hours as written in the tables: at most one decimal, no trailing zero (64, 10.5)."""
    if value is None:
        return ""
    text = f"{round(float(value), 1):.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def score(value: int | None) -> str:
    return "" if value is None else str(value)


def trainee_texts(line: TraineeLine) -> list[str]:
    """The 14 cells of one trainee row, in ``TRAINEE_HEADERS`` order (the whole ID number)."""
    hours = line.hours
    return [str(line.seq), line.name, line.id_number, line.sex, line.employer,
            number(hours.online_theory), number(hours.online_practice), number(hours.offline_theory),
            number(hours.offline_practice), number(line.counted_hours), score(line.theory_score),
            score(line.practice_score), line.result, line.certificate_number]


def pass_rate(passed: int, assessed: int) -> str:
    return f"{100 * passed / assessed:.1f}%" if assessed else "—"


# --- styles and fonts -------------------------------------------------------------------------

def _rpr_fonts(r_pr: Any, latin: str, east_asia: str) -> None:
    fonts = r_pr.get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    # LibreOffice falls back by language: zh-CN picks the Simplified Chinese glyphs (Noto CJK SC).
    lang.set(qn("w:eastAsia"), "zh-CN")


def _add_style(document: Any, style_id: str, *, size: float, chain: list[str], latin: str, bold: bool = False,
               align: Any = None, after: float = 0, before: float = 0, indent_chars: int = 0,
               line_spacing: float | None = None, outline: int | None = None, keep_with_next: bool = False) -> Any:
    style = document.styles.add_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.font.size = Pt(size)
    style.font.bold = bold
    _rpr_fonts(style.element.get_or_add_rPr(), latin, chain[0])
    fmt = style.paragraph_format
    fmt.space_after, fmt.space_before = Pt(after), Pt(before)
    if align is not None:
        fmt.alignment = align
    if indent_chars:
        fmt.first_line_indent = Pt(size * indent_chars)
    if line_spacing is not None:
        fmt.line_spacing = line_spacing
    if keep_with_next:
        fmt.keep_with_next = True
    if outline is not None:
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        style.element.get_or_add_pPr().append(level)
    return style


def _styles(document: Any, spec: dict[str, Any]) -> None:
    fonts, sizes = spec["fonts"], spec["sizes"]
    latin = fonts["latin"]
    normal = document.styles["Normal"]
    normal.font.size = Pt(sizes["body"])
    _rpr_fonts(normal.element.get_or_add_rPr(), latin, fonts["body"][0])
    normal.paragraph_format.space_after = Pt(0)
    _add_style(document, STYLE_IDS["title"], size=sizes["title"], chain=fonts["title"], latin=latin, bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, after=sizes["title"], outline=0)
    _add_style(document, STYLE_IDS["heading"], size=sizes["heading"], chain=fonts["heading"], latin=latin,
               before=8, after=6, outline=1, keep_with_next=True)
    _add_style(document, STYLE_IDS["subheading"], size=sizes["subheading"], chain=fonts["subheading"],
               latin=latin, bold=True, before=4, after=2, indent_chars=2, outline=2, keep_with_next=True)
    _add_style(document, STYLE_IDS["body"], size=sizes["body"], chain=fonts["body"], latin=latin,
               align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=2, indent_chars=2, line_spacing=1.35)
    _add_style(document, STYLE_IDS["table"], size=sizes["table"], chain=fonts["table"], latin=latin,
               align=WD_ALIGN_PARAGRAPH.CENTER, before=1.5, after=1.5)
    _add_style(document, STYLE_IDS["trainees"], size=sizes["trainees"], chain=fonts["table"], latin=latin,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    _add_style(document, STYLE_IDS["footer"], size=sizes["footer"], chain=fonts["body"], latin=latin,
               align=WD_ALIGN_PARAGRAPH.CENTER)


def _font_table(document: Any, spec: dict[str, Any]) -> None:
    """Name each Chinese face in ``word/fontTable.xml`` with its fallbacks as ``w:altName`` (a
    comma-separated list Word tries when the face is not installed) and the GB2312 charset."""
    part = document.part.part_related_by(RELATIONSHIP_TYPE.FONT_TABLE)
    root = etree.fromstring(part.blob)
    known = {f.get(qn("w:name")): f for f in root.findall(qn("w:font"))}
    for key in ("title", "heading", "subheading", "body", "table"):
        chain = spec["fonts"][key]
        if chain[0] in known:
            continue
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), chain[0])
        known[chain[0]] = font
        if len(chain) > 1:
            etree.SubElement(font, qn("w:altName")).set(qn("w:val"), ",".join(chain[1:]))
        etree.SubElement(font, qn("w:charset")).set(qn("w:val"), GB2312_CHARSET)
        etree.SubElement(font, qn("w:family")).set(qn("w:val"), "modern" if key == "heading" else "roman")
        etree.SubElement(font, qn("w:pitch")).set(qn("w:val"), "variable")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- layout pieces ------------------------------------------------------------------------------

def _para(document: Any, text: str, style: str, *, align: Any = None) -> Any:
    paragraph = document.add_paragraph()
    set_style(paragraph, STYLE_IDS[style])
    if text:
        paragraph.add_run(xml_text(text))
    if align is not None:
        paragraph.alignment = align
        paragraph.paragraph_format.first_line_indent = Pt(0)
    return paragraph


def _section_page(section: Any, landscape: bool, margins: dict[str, float]) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = (Cm(29.7), Cm(21.0)) if landscape else (Cm(21.0), Cm(29.7))
    section.page_width, section.page_height = width, height
    section.top_margin, section.bottom_margin = Cm(margins["top"]), Cm(margins["bottom"])
    section.left_margin, section.right_margin = Cm(margins["left"]), Cm(margins["right"])
    section.footer_distance = Cm(1.0)


def _footer(document: Any, section: Any, spec: dict[str, Any]) -> None:
    """``第 {PAGE} 页 共 {NUMPAGES} 页``: the fields are computed by Word / LibreOffice when laid out."""
    paragraph = section.footer.paragraphs[0]
    set_style(paragraph, STYLE_IDS["footer"])
    pattern = spec["footer"]
    position = 0
    while position < len(pattern):
        start = pattern.find("{", position)
        if start < 0:
            paragraph.add_run(pattern[position:])
            break
        if start > position:
            paragraph.add_run(pattern[position:start])
        end = pattern.index("}", start)
        add_field(paragraph, pattern[start + 1:end])
        position = end + 1


def _middle(cell_element: Any) -> None:
    """Centre the cell's text vertically (Latin digits and Chinese sit on different baselines)."""
    align = OxmlElement("w:vAlign")
    align.set(qn("w:val"), "center")
    cell_element.get_or_add_tcPr().append(align)


def _shade(cell_element: Any, fill: str = "E7E6E6") -> None:
    tc_pr = cell_element.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    tc_pr.append(shading)


def _fixed_layout(table: Any, widths_cm: list[float]) -> None:
    table.autofit = False  # w:tblLayout type="fixed", in its place among the table properties
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


def _cell_margins(table: Any, cm: float) -> None:
    """Narrower left/right cell padding than Word's 0.19 cm, so an 18-digit ID fits on one line."""
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(int(cm * 567)))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    table._tbl.tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def _small_table(document: Any, headers: tuple[str, ...], rows: list[tuple[str, ...]], widths_cm: list[float],
                 bold_rows: frozenset[int] = frozenset(), left: frozenset[int] = frozenset()) -> Any:
    """A short table (a few dozen rows): built row by row through python-docx, which is fine here."""
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    style = STYLE_IDS["table"]
    for index, row in enumerate(table.rows):
        keep_together(row)
        values = headers if index == 0 else rows[index - 1]
        for column, (cell, text) in enumerate(zip(row.cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            set_style(paragraph, style)
            run = paragraph.add_run(xml_text(text))
            if index == 0 or index - 1 in bold_rows:
                run.bold = True
            if index and column in left:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
            if index == 0:
                _shade(cell._tc)
            _middle(cell._tc)
    repeat_header(table.rows[0])
    _fixed_layout(table, widths_cm)
    return table


def _facts_table(document: Any, facts: list[tuple[str, str]]) -> None:
    if not facts:
        return
    table = document.add_table(rows=len(facts), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    style = STYLE_IDS["table"]
    for row, (label, value) in zip(table.rows, facts, strict=True):
        keep_together(row)
        head, body = row.cells
        set_style(head.paragraphs[0], style)
        head.paragraphs[0].add_run(xml_text(label)).bold = True
        _shade(head._tc, "F2F2F2")
        set_style(body.paragraphs[0], style)
        body.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
        body.paragraphs[0].add_run(xml_text(value))
    _fixed_layout(table, [4.2, 11.4])


def _hours_rows(package: FilingPackage) -> tuple[list[tuple[str, ...]], frozenset[int]]:
    grid: dict[tuple[str, str], list[float]] = {(m, k): [0.0, 0.0] for m in MODES for k in KINDS}
    for row in package.hours:
        cell = grid.setdefault((row.mode, row.kind), [0.0, 0.0])
        cell[0] += row.planned
        cell[1] += row.delivered

    def line(mode: str, kind: str, planned: float, delivered: float) -> tuple[str, ...]:
        rate = f"{100 * delivered / planned:.1f}%" if planned > 0 else "—"
        return (mode, kind, number(planned), number(delivered), rate)

    rows = [line(MODE_LABELS.get(m, m), KIND_LABELS.get(k, k), p, d) for (m, k), (p, d) in grid.items()]
    for mode in MODES:
        rows.append(line(MODE_LABELS[mode], "小计", sum(grid[(mode, k)][0] for k in KINDS),
                         sum(grid[(mode, k)][1] for k in KINDS)))
    for kind in KINDS:
        rows.append(line("合计", KIND_LABELS[kind], sum(grid[(m, kind)][0] for m in MODES),
                         sum(grid[(m, kind)][1] for m in MODES)))
    rows.append(line("总计", "", sum(p for p, _ in grid.values()), sum(d for _, d in grid.values())))
    return rows, frozenset(range(len(grid), len(rows)))


def _thin_paragraph() -> Any:
    """An empty paragraph one point high: it keeps two tables apart without a visible gap."""
    return parse_xml(f'<w:p {nsdecls("w")}><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" '
                     'w:lineRule="exact"/><w:rPr><w:sz w:val="2"/><w:szCs w:val="2"/></w:rPr></w:pPr></w:p>')


def _trainee_tables(document: Any, spec: dict[str, Any], trainees: list[TraineeLine]) -> None:
    columns = spec["trainee_columns"]
    widths = [float(c["cm"]) for c in columns]
    table = document.add_table(rows=2, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    style = STYLE_IDS["trainees"]
    header, template = table.rows
    repeat_header(header)
    keep_together(header)
    keep_together(template)
    for column, head_cell, body_cell in zip(columns, header.cells, template.cells, strict=True):
        paragraph = head_cell.paragraphs[0]
        set_style(paragraph, style)
        paragraph.add_run(column["header"]).bold = True
        _shade(head_cell._tc)
        body = body_cell.paragraphs[0]
        set_style(body, style)
        if column.get("align", "center") != "center":
            body.alignment = ALIGN[column["align"]]
        body.add_run()._r.append(OxmlElement("w:t"))  # the one w:t each copy fills in
    _fixed_layout(table, widths)
    _cell_margins(table, 0.1)
    # The grid and the header row carry the widths: the copied row stays as light as it can be (every
    # element in it is copied 10,000 times), so no cell properties at all there.
    for tc in template._tr.tc_lst:
        tc.remove(tc.tcPr)
    for tc in header._tr.tc_lst:
        _middle(tc)

    tbl = table._tbl
    template_tr = template._tr
    tbl.remove(template_tr)
    # The header-only table, copied for each further chunk before any trainee row is added.
    chunk = max(1, int(spec["trainee_chunk_rows"]))
    empty_tbl = copy.deepcopy(tbl) if len(trainees) > chunk else None
    deepcopy = copy.deepcopy
    slots = list(template_tr.iter(W_T))
    previous = None
    for start in range(0, max(len(trainees), 1), chunk):
        if start == 0:
            target = tbl
        else:
            separator = _thin_paragraph()  # two tables need a paragraph between them or they merge
            previous.addnext(separator)
            target = deepcopy(empty_tbl)
            separator.addnext(target)
        for line in trainees[start:start + chunk]:
            # Fill the template's own texts, then copy it: cheaper than finding the texts in each copy.
            for t, text in zip(slots, trainee_texts(line), strict=True):
                try:
                    t.text = text
                except ValueError:  # a control character in the data; rare, so not checked up front
                    t.text = xml_text(text)
            target.append(deepcopy(template_tr))
        previous = target


def build_report_docx(package: FilingPackage) -> bytes:
    """The filing report for ``package``. Pure and blocking: run it in a thread."""
    spec = layout()
    document = Document()
    _styles(document, spec)
    _font_table(document, spec)
    properties = document.core_properties
    properties.title = xml_text(package.title)
    properties.author = properties.last_modified_by = xml_text(package.institution_name)
    properties.subject = "培训备案材料"
    properties.comments = ""
    properties.revision = max(1, package.version_number)

    first = document.sections[0]
    _section_page(first, False, spec["portrait_margins_cm"])
    _footer(document, first, spec)

    _para(document, package.title, "title")
    if package.version_number > 1:
        _para(document, f"（第{package.version_number}版）", "table")
    addressees = [a for a in package.addressees if a]
    _para(document, "、".join(addressees) + "：", "body").paragraph_format.first_line_indent = Pt(0)
    _para(document, spec["opening"], "body")
    _para(document, f"报送单位：{package.institution_name}", "body")
    if package.institution_credit_code:
        _para(document, f"统一社会信用代码：{package.institution_credit_code}", "body")
    _para(document, f"报送日期：{chinese_date(package.generated_on)}", "body")
    _para(document, f"备案期限：{chinese_date(package.due_date)}前", "body")
    _facts_table(document, package.facts)

    counts = package.counts
    headings = spec["headings"]
    _para(document, headings["summary"], "heading")
    _para(document, spec["summary"].format(
        enrolled=counts.enrolled, withdrawn=counts.withdrawn, eligible=counts.eligible, assessed=counts.assessed,
        passed=counts.passed, certified=counts.certified, pass_rate=pass_rate(counts.passed, counts.assessed)),
        "body")
    _small_table(document, ("招收人数", "退学人数", "达到考核条件", "参加考核", "考核合格", "颁发证书"),
                 [tuple(str(v) for v in (counts.enrolled, counts.withdrawn, counts.eligible, counts.assessed,
                                         counts.passed, counts.certified))], [2.6] * 6)

    _para(document, headings["hours"], "heading")
    rows, bold = _hours_rows(package)
    _small_table(document, HOURS_HEADERS, rows, [3.0, 3.0, 3.2, 3.4, 3.0], bold_rows=bold)
    if package.requirement_note:
        _para(document, spec["requirement"].format(note=package.requirement_note), "body")

    _para(document, headings["teachers"], "heading")
    teacher_rows = [(str(i), t.name, str(t.sessions), number(t.hours))
                    for i, t in enumerate(package.teachers, start=1)]
    if teacher_rows:
        teacher_rows.append(("合计", f"{len(package.teachers)}人", str(sum(t.sessions for t in package.teachers)),
                             number(sum(t.hours for t in package.teachers))))
    else:
        teacher_rows.append(("—", "（无授课记录）", "", ""))
    _small_table(document, TEACHER_HEADERS, teacher_rows, [2.0, 5.6, 4.0, 4.0],
                 bold_rows=frozenset({len(teacher_rows) - 1}) if package.teachers else frozenset())

    _para(document, headings["narrative"], "heading")
    for number_label, (key, label) in zip(SUBSECTION_NUMBERS, NARRATIVE_SECTIONS.items(), strict=False):
        _para(document, f"{number_label}{label}", "subheading")
        text = (package.narrative.get(key) or "").strip()
        lines = [part.strip() for part in text.splitlines() if part.strip()] or [spec["empty_narrative"]]
        for part in lines:
            _para(document, part, "body")

    trainees_section = document.add_section(WD_SECTION.NEW_PAGE)
    _section_page(trainees_section, True, spec["landscape_margins_cm"])
    _para(document, headings["trainees"], "heading")
    _trainee_tables(document, spec, package.trainees)
    _para(document, spec["trainee_total"].format(count=len(package.trainees), passed=counts.passed), "body")
    _para(document, "", "body")
    _para(document, package.institution_name, "body", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(document, spec["seal"], "body", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(document, chinese_date(package.generated_on), "body", align=WD_ALIGN_PARAGRAPH.RIGHT)

    return save_docx(document, package.generated_on)


def filename(package: FilingPackage, extension: str = "docx") -> str:
    return f"{package.title}（第{package.version_number}版）.{extension}"
