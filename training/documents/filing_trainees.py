"""The filing's trainee list (学员名册) as xlsx, from a ``FilingPackage``.

Sheet 学员名册: a title row, the header row (frozen), one row per trainee — whole ID numbers as
text cells formatted ``@`` so Excel never turns them into 3.70102E+17 — hours by mode × kind,
total and counted hours, scores, result and certificate number. Sheet 汇总: the cover facts, the
counts and planned against delivered hours.

Written with openpyxl in write-only mode (streams; ~10,000 rows in well under a second). The
shared ``tabular.write_xlsx`` writes plain header-and-rows sheets; this list needs a title row,
text-typed ID cells and a summary sheet, so it drives openpyxl itself. Deterministic: the same
package gives the same bytes (core-property and zip dates fixed to ``generated_on``).
"""

from __future__ import annotations

import io
from datetime import datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from training.documents.docx_common import stable_zip, xml_text
from training.documents.filing_report import KIND_LABELS, MODE_LABELS, pass_rate
from training.rules.filing import FilingPackage, TraineeLine
from training.rules.hours import KINDS, MODES

TRAINEE_SHEET = "学员名册"
SUMMARY_SHEET = "汇总"
# (header, width); the data row order is the same, see :func:`trainee_values`.
TRAINEE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("姓名", 10), ("身份证号", 21), ("性别", 6), ("联系电话", 14), ("学历", 10), ("工作单位", 30),
    ("学籍状态", 10), ("线上理论", 10), ("线上实践", 10), ("线下理论", 10), ("线下实践", 10), ("总学时", 10),
    ("认定学时", 10), ("理论成绩", 10), ("实操成绩", 10), ("考核结果", 12), ("证书编号", 22),
)
TRAINEE_HEADERS = tuple(h for h, _ in TRAINEE_COLUMNS)
TEXT_COLUMNS = frozenset({"身份证号", "联系电话", "证书编号"})
HEADER_ROW = 2  # row 1 is the title


def _hours(value: float) -> float | int:
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def trainee_values(line: TraineeLine) -> list[Any]:
    """One row of the list in ``TRAINEE_HEADERS`` order: hours and scores as numbers, the rest text."""
    hours = line.hours
    return [line.seq, xml_text(line.name), line.id_number, line.sex, line.phone, xml_text(line.education),
            xml_text(line.employer), line.enrollment_status, _hours(hours.online_theory), _hours(hours.online_practice),
            _hours(hours.offline_theory), _hours(hours.offline_practice), _hours(hours.total),
            _hours(line.counted_hours), line.theory_score, line.practice_score, line.result, line.certificate_number]


def _trainee_sheet(workbook: Workbook, package: FilingPackage) -> None:
    sheet = workbook.create_sheet(TRAINEE_SHEET)
    for index, (_, width) in enumerate(TRAINEE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    title = WriteOnlyCell(sheet, value=xml_text(f"{package.title} — 学员名册"))
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    bold, fill, centre = Font(bold=True), PatternFill("solid", fgColor="E7E6E6"), Alignment(horizontal="center")
    header = []
    for name, _ in TRAINEE_COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font, cell.fill, cell.alignment = bold, fill, centre
        header.append(cell)
    sheet.append(header)
    text_positions = [i for i, (name, _) in enumerate(TRAINEE_COLUMNS) if name in TEXT_COLUMNS]
    for line in package.trainees:
        values: list[Any] = trainee_values(line)
        for position in text_positions:
            cell = WriteOnlyCell(sheet, value=str(values[position] or ""))
            cell.number_format = "@"
            values[position] = cell
        sheet.append(values)


def _summary_sheet(workbook: Workbook, package: FilingPackage) -> None:
    sheet = workbook.create_sheet(SUMMARY_SHEET)
    sheet.column_dimensions["A"].width = 22
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 16
    bold = Font(bold=True)

    def heading(text: str) -> None:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        sheet.append([cell])

    title = WriteOnlyCell(sheet, value=xml_text(package.title))
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    sheet.append(["报送单位", package.institution_name])
    sheet.append(["统一社会信用代码", package.institution_credit_code])
    sheet.append(["报送对象", "、".join(package.addressees)])
    sheet.append(["报送日期", package.generated_on.isoformat()])
    sheet.append(["备案期限", package.due_date.isoformat()])
    for label, value in package.facts:
        sheet.append([xml_text(label), xml_text(value)])
    sheet.append([])
    heading("培训基本情况")
    counts = package.counts
    for label, value in (("招收人数", counts.enrolled), ("退学人数", counts.withdrawn), ("达到考核条件", counts.eligible),
                         ("参加考核", counts.assessed), ("考核合格", counts.passed), ("颁发证书", counts.certified)):
        sheet.append([label, value])
    sheet.append(["合格率", pass_rate(counts.passed, counts.assessed)])
    sheet.append(["名册人数", len(package.trainees)])
    sheet.append([])
    heading("学时完成情况")
    sheet.append(["教学形式·内容", "计划学时", "实际完成学时"])
    grid = {(m, k): [0.0, 0.0] for m in MODES for k in KINDS}
    for row in package.hours:
        cell = grid.setdefault((row.mode, row.kind), [0.0, 0.0])
        cell[0] += row.planned
        cell[1] += row.delivered
    for (mode, kind), (planned, delivered) in grid.items():
        sheet.append([f"{MODE_LABELS.get(mode, mode)}{KIND_LABELS.get(kind, kind)}", _hours(planned),
                      _hours(delivered)])
    sheet.append(["合计", _hours(sum(p for p, _ in grid.values())), _hours(sum(d for _, d in grid.values()))])
    if package.requirement_note:
        sheet.append(["学时要求", package.requirement_note])
    sheet.append([])
    heading("师资情况")
    sheet.append(["姓名", "授课课次", "授课学时"])
    for teacher in package.teachers:
        sheet.append([teacher.name, teacher.sessions, _hours(teacher.hours)])


def build_trainees_xlsx(package: FilingPackage) -> bytes:
    """The trainee list for ``package``. Pure and blocking: run it in a thread."""
    workbook = Workbook(write_only=True)
    moment = datetime.combine(package.generated_on, time.min)  # openpyxl wants naive UTC
    workbook.properties.created = workbook.properties.modified = moment
    workbook.properties.creator = workbook.properties.lastModifiedBy = xml_text(package.institution_name)
    workbook.properties.title = xml_text(f"{package.title} — 学员名册")
    _trainee_sheet(workbook, package)
    _summary_sheet(workbook, package)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return stable_zip(buffer.getvalue(), package.generated_on)


def filename(package: FilingPackage) -> str:
    return f"{package.title}（第{package.version_number}版）学员名册.xlsx"
