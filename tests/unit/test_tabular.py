"""The shared spreadsheet reader: headers, encodings, empty rows, merged cells, faults by row and column."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from training.documents.tabular import Column, read_table, template_xlsx, write_csv
from training.errors import BadInput, ImportRejected


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if value <= 0:
        raise ValueError("应为正整数")
    return value


COLUMNS = [Column("name", "姓名"), Column("count", "人数", parse=_positive), Column("note", "备注", required=False)]


def _xlsx(rows: list[list[object]], merge: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_reads_xlsx_with_extra_columns_and_empty_rows():
    data = _xlsx([["姓名", "额外", "人数"], ["张三", "x", 3], [None, None, None], ["李四", "", "5"]])
    table = read_table(data, COLUMNS, "a.xlsx")
    assert not table.faults
    assert [(n, r["name"], r["count"]) for n, r in table.rows] == [(2, "张三", 3), (4, "李四", 5)]


def test_faults_name_row_and_column():
    data = "姓名,人数\n张三,0\n,4\n".encode()
    table = read_table(data, COLUMNS, "a.csv")
    assert [(f.row, f.column, f.reason) for f in table.faults] == [(2, "人数", "应为正整数"), (3, "姓名", "不能为空")]
    with pytest.raises(ImportRejected) as caught:
        table.raise_if_faulty()
    assert len(caught.value.faults) == 2


def test_missing_header_fails_at_row_one():
    with pytest.raises(ImportRejected) as caught:
        read_table("名字,人数\n张三,1\n".encode(), COLUMNS, "a.csv")
    assert caught.value.faults[0].row == 1
    assert "姓名" in caught.value.faults[0].reason


def test_gbk_and_bom_csv_are_read():
    for data in ("姓名,人数\n张三,2\n".encode("gbk"), "\ufeff姓名,人数\n张三,2\n".encode()):
        assert read_table(data, COLUMNS, "a.csv").rows[0][1]["name"] == "张三"


def test_merged_cells_are_refused():
    with pytest.raises(BadInput, match="合并单元格"):
        read_table(_xlsx([["姓名", "人数"], ["张三", 1], ["李四", 2]], merge="A2:A3"), COLUMNS, "a.xlsx")


def test_non_spreadsheet_renamed_xlsx_is_refused():
    with pytest.raises(BadInput, match="不是 Excel"):
        read_table(b"%PDF-1.4 this is not a spreadsheet", COLUMNS, "renamed.xlsx")
    with pytest.raises(BadInput, match="Excel"):
        read_table(b"PK\x03\x04 broken zip", COLUMNS, "broken.xlsx")


def test_empty_file_and_header_only_are_refused():
    with pytest.raises(BadInput, match="空"):
        read_table(b"", COLUMNS, "a.csv")
    with pytest.raises(BadInput, match="没有数据行"):
        read_table("姓名,人数\n".encode(), COLUMNS, "a.csv")


def test_row_limit():
    data = ("姓名,人数\n" + "张三,1\n" * 11).encode()
    with pytest.raises(BadInput, match="上限"):
        read_table(data, COLUMNS, "a.csv", max_rows=10)


def test_template_round_trips_through_the_reader():
    columns = [Column("name", "姓名", example="张三"), Column("count", "人数", parse=_positive, example="3")]
    data = template_xlsx("名单", columns, notes=["每行一人"])
    assert load_workbook(io.BytesIO(data)).sheetnames == ["名单", "填写说明"]
    assert read_table(data, columns, "t.xlsx").rows[0][1] == {"name": "张三", "count": 3}


def test_csv_export_has_bom_for_excel():
    assert write_csv(["姓名"], [["张三"]]).startswith(b"\xef\xbb\xbf")
