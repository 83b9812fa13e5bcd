"""Reading and writing the spreadsheets people upload and download: xlsx, and CSV in UTF-8 or GBK.

One reader serves every import (institutions, trainees, online-platform attendance, results):
it streams rows, maps Chinese headers to field keys, parses each cell with the column's parser
and collects every fault as (row, column, reason), so an import can be all-or-nothing and tell
the user exactly what to fix. Row numbers are the spreadsheet's own (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from training.errors import BadInput, ImportRejected, RowFault

MAX_FAULTS_REPORTED = 200


@dataclass(frozen=True, slots=True)
class Column:
    """One expected column: ``key`` for the code, ``header`` (Chinese) for people.

    ``parse`` turns the cell text into a value, raising ``ValueError`` with a Chinese reason.
    """

    key: str
    header: str
    required: bool = True
    parse: Callable[[str], Any] = str
    aliases: tuple[str, ...] = ()
    example: str = ""
    width: int = 18

    def names(self) -> set[str]:
        return {_norm(self.header), _norm(self.key), *(_norm(a) for a in self.aliases)}


@dataclass
class ParsedTable:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    faults: list[RowFault] = field(default_factory=list)

    def raise_if_faulty(self) -> None:
        if self.faults:
            raise ImportRejected(self.faults[:MAX_FAULTS_REPORTED])


def _norm(text: str) -> str:
    return "".join(str(text or "").split()).replace("（", "(").replace("）", ")").lower()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value).strip()


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, otherwise GB18030 (a GBK superset)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data[: 1 << 20], final=len(data) <= 1 << 20)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def iter_csv(data: bytes) -> Iterator[list[str]]:
    encoding = detect_encoding(data)
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError:
        raise BadInput("CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码") from None
    except csv.Error as exc:
        raise BadInput(f"CSV 文件格式错误：{exc}") from None


def _has_merged_cells(archive: zipfile.ZipFile, sheet_path: str) -> bool:
    tail = b""
    with archive.open(sheet_path) as stream:
        while chunk := stream.read(1 << 20):
            if b"<mergeCell " in tail + chunk:
                return True
            tail = chunk[-16:]
    return False


def iter_xlsx(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BadInput(f"文件不是有效的 Excel（.xlsx）文件：{type(exc).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        sheet_paths = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        if sheet_paths and _has_merged_cells(archive, sorted(sheet_paths)[0]):
            raise BadInput("表格中有合并单元格，请取消合并后每行每列各填一个值再上传")
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        workbook.close()


def iter_rows(data: bytes, filename: str = "") -> Iterator[list[str]]:
    """Raw rows of the first sheet (xlsx) or of a CSV file, every cell as stripped text."""
    if not data or not data.strip():
        raise BadInput("上传的文件是空的")
    if is_xlsx(data):
        return iter_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise BadInput("文件扩展名是 .xlsx，但内容不是 Excel 文件")
    if b"\x00" in data[:4096]:
        raise BadInput("无法识别的文件格式：请上传 .xlsx 或 .csv 文件")
    return iter_csv(data)


def read_table(
    data: bytes,
    columns: Iterable[Column],
    filename: str = "",
    *,
    max_rows: int | None = None,
    row_check: Callable[[int, dict[str, Any]], list[RowFault]] | None = None,
) -> ParsedTable:
    """Parse every data row against ``columns``. Unknown extra columns are ignored, empty rows
    skipped; missing required columns fail the whole file at row 1."""
    columns = list(columns)
    rows = iter_rows(data, filename)
    table = ParsedTable()
    header = next(rows, None)
    if header is None:
        raise BadInput("上传的文件是空的")
    positions: dict[str, int] = {}
    by_name = {name: column for column in columns for name in column.names()}
    for index, cell in enumerate(header):
        column = by_name.get(_norm(cell))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c for c in columns if c.required and c.key not in positions]
    if missing:
        table.faults.extend(RowFault(1, c.header, f"缺少列“{c.header}”") for c in missing)
        table.raise_if_faulty()
    data_rows = 0
    for number, raw in enumerate(rows, start=2):
        if not any(cell.strip() for cell in raw if cell):
            continue
        data_rows += 1
        if max_rows is not None and data_rows > max_rows:
            raise BadInput(f"文件行数超过上限 {max_rows} 行，请分批上传")
        record: dict[str, Any] = {}
        for column in columns:
            position = positions.get(column.key)
            text = raw[position].strip() if position is not None and position < len(raw) else ""
            if not text:
                if column.required:
                    table.faults.append(RowFault(number, column.header, "不能为空"))
                record[column.key] = None
                continue
            try:
                record[column.key] = column.parse(text)
            except ValueError as exc:
                table.faults.append(RowFault(number, column.header, str(exc) or "格式不正确"))
        if row_check is not None:
            table.faults.extend(row_check(number, record))
        table.rows.append((number, record))
        if len(table.faults) > MAX_FAULTS_REPORTED * 5:
            break
    if data_rows == 0:
        raise BadInput("文件中只有表头，没有数据行")
    return table


def write_xlsx(sheets: list[tuple[str, list[Column] | list[str], Iterable[Iterable[Any]]]]) -> bytes:
    """Build an xlsx of one or more sheets: (title, headers, rows). Streams in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        names = [h.header if isinstance(h, Column) else str(h) for h in headers]
        for index, h in enumerate(headers):
            width = h.width if isinstance(h, Column) else max(10, min(40, len(str(h)) * 2 + 4))
            sheet.column_dimensions[_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="EEF1F4")
        header_cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            cell.fill = fill
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(headers: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM, so Excel on Windows opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_xlsx(title: str, columns: list[Column], notes: list[str] | None = None) -> bytes:
    """A downloadable import template: the headers, one example row, and a sheet of notes."""
    example = [c.example for c in columns]
    sheets: list[tuple[str, Any, Iterable[Iterable[Any]]]] = [(title, columns, [example])]
    explain = [(c.header, "必填" if c.required else "选填", c.example) for c in columns]
    explain += [("说明", note, "") for note in notes or []]
    sheets.append(("填写说明", ["列", "是否必填", "示例"], explain))
    return write_xlsx(sheets)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
