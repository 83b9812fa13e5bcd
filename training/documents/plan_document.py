"""The annual plan as an official Word document (python-docx): title, issuing bureau, date, the
table of lines (header row repeated on every page) and totals by field and by level."""

from __future__ import annotations

import io
from collections import OrderedDict
from datetime import date
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from training.documents.docx_common import keep_together, repeat_header, set_fonts
from training.rules.levels import CLASS_TYPES, LEVELS, PLAN_STATUSES, TARGET_GROUPS

BODY_FONT = ("Times New Roman", "宋体")
HEADING_FONT = ("Times New Roman", "黑体")
LINE_HEADERS = ("序号", "领域", "职业", "等级", "培训对象", "班型", "计划人数", "承训机构")
LINE_WIDTHS_CM = (1.2, 2.4, 5.0, 1.6, 3.4, 1.8, 2.0, 7.6)


def _paragraph(document: Any, text: str, *, size: float = 12, bold: bool = False,
               align: Any = WD_ALIGN_PARAGRAPH.LEFT, font: tuple[str, str] = BODY_FONT, space_after: float = 4) -> Any:
    paragraph = document.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(space_after)
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    set_fonts(run, *font)
    return paragraph


def _table(document: Any, headers: tuple[str, ...], rows: list[tuple[str, ...]],
           widths: tuple[float, ...] | None = None, numeric: frozenset[int] = frozenset()) -> Any:
    """Rows appended with ``add_row().cells`` (linear); never ``table.cell(r, c)`` in a loop."""
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    repeat_header(header)
    for cell, text in zip(header.cells, headers, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        set_fonts(run, *HEADING_FONT)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for values in rows:
        row = table.add_row()
        keep_together(row)
        cells = row.cells
        total_row = values[0] == "合计"
        for index, (cell, text) in enumerate(zip(cells, values, strict=True)):
            cell.text = text
            if total_row:
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            if index in numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if widths:
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
    return table


def _totals(lines: list[dict[str, Any]], key: str, order: list[str]) -> list[tuple[str, int, int]]:
    groups: OrderedDict[str, list[int]] = OrderedDict((k, [0, 0]) for k in order)
    for line in lines:
        groups.setdefault(line[key], [0, 0])
        groups[line[key]][0] += 1
        groups[line[key]][1] += line["target_headcount"]
    return [(k, v[0], v[1]) for k, v in groups.items() if v[0]]


def build_plan_docx(facts: dict[str, Any]) -> bytes:
    """``facts`` as from ``services.plans.document_facts``. Blocking: run it in a thread."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin = section.bottom_margin = Cm(2.0)
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    set_fonts(normal, *BODY_FONT)

    lines: list[dict[str, Any]] = facts["lines"]
    issued: date = facts["date"]
    _paragraph(document, facts["title"], size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, font=HEADING_FONT,
               space_after=6)
    if facts.get("subtitle"):
        _paragraph(document, f"（{facts['subtitle']}）", size=12, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document, f"报送单位：{facts['issuer']}", size=12)
    _paragraph(document, f"报送日期：{issued.year}年{issued.month}月{issued.day}日", size=12)
    status = PLAN_STATUSES.get(facts["status"], facts["status"])
    late = "（逾期报送）" if facts.get("submitted_late") else ""
    _paragraph(document, f"计划状态：{status}{late}", size=12, space_after=10)

    _paragraph(document, "一、培训计划明细", size=14, bold=True, font=HEADING_FONT)
    rows = [
        (str(i), line["field"], line["occupation_name"], LEVELS.get(line["level"], line["level"]),
         TARGET_GROUPS.get(line["target_group"], line["target_group"]),
         CLASS_TYPES.get(line["class_type"], line["class_type"]), str(line["target_headcount"]),
         "、".join(inst["name"] for inst in line.get("institutions", [])))
        for i, line in enumerate(lines, start=1)
    ]
    total = sum(line["target_headcount"] for line in lines)
    rows.append(("合计", "", "", "", "", "", str(total), ""))
    _table(document, LINE_HEADERS, rows, LINE_WIDTHS_CM, numeric=frozenset({6}))

    _paragraph(document, "", space_after=4)
    _paragraph(document, "二、按领域汇总", size=14, bold=True, font=HEADING_FONT)
    fields_order: list[str] = []
    for line in sorted(lines, key=lambda x: x.get("occupation_order", 0)):
        if line["field"] not in fields_order:
            fields_order.append(line["field"])
    by_field = [(name, str(n), str(people)) for name, n, people in _totals(lines, "field", fields_order)]
    by_field.append(("合计", str(len(lines)), str(total)))
    _table(document, ("领域", "明细条数", "计划人数"), by_field, (6.0, 3.0, 3.0), numeric=frozenset({1, 2}))

    _paragraph(document, "", space_after=4)
    _paragraph(document, "三、按等级汇总", size=14, bold=True, font=HEADING_FONT)
    by_level = [(LEVELS.get(level, level), str(n), str(people))
                for level, n, people in _totals(lines, "level", list(LEVELS))]
    by_level.append(("合计", str(len(lines)), str(total)))
    _table(document, ("等级", "明细条数", "计划人数"), by_level, (6.0, 3.0, 3.0), numeric=frozenset({1, 2}))

    _paragraph(document, "", space_after=12)
    _paragraph(document, f"{facts['issuer']}", size=12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, f"{issued.year}年{issued.month}月{issued.day}日", size=12, align=WD_ALIGN_PARAGRAPH.RIGHT)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def filename(facts: dict[str, Any], extension: str) -> str:
    return f"{facts['title']}.{extension}"
