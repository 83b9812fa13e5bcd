"""Builders for the institution catalogue tests: import files (xlsx / CSV) and approvals."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from openpyxl import Workbook

from tests.factories import credit_code
from training.tables import Approval, Occupation

HEADERS = ["机构名称", "统一社会信用代码", "所在城市", "地址", "联系人", "联系电话", "电子邮箱",
           "核准职业", "核准等级", "核准有效期起", "核准有效期止", "核准文号"]
AI = "人工智能工程技术人员"
BIG_DATA = "大数据工程技术人员"


def import_row(code: str | None = None, **values: Any) -> list[Any]:
    row = {
        "机构名称": "济南数字技术培训学院",
        "统一社会信用代码": code or credit_code(),
        "所在城市": "济南市",
        "地址": "济南市历下区经十路1号",
        "联系人": "王明",
        "联系电话": "0531-88886666",
        "电子邮箱": "px@example.cn",
        "核准职业": AI,
        "核准等级": "初级、中级",
        "核准有效期起": "2026-01-01",
        "核准有效期止": "2030-12-31",
        "核准文号": "鲁人社字〔2026〕1号",
    }
    row.update(values)
    return [row[h] for h in HEADERS]


def many_rows(n: int, start: int = 1) -> list[list[Any]]:
    """``n`` rows: institutions with two occupations each (two rows per institution)."""
    rows = []
    for i in range(start, start + n):
        code = credit_code(500_000 + (i + 1) // 2)
        occupation = AI if i % 2 else BIG_DATA
        rows.append(import_row(code, 机构名称=f"培训机构{(i + 1) // 2}", 核准职业=occupation,
                               联系电话=f"139{(i + 1) // 2:08d}"))
    return rows


def xlsx(rows: list[list[Any]], headers: list[str] | None = None, merge: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers or HEADERS)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", headers: list[str] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers or HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


async def occupation_id(name: str = AI) -> int:
    row = await Occupation.select(Occupation.id).where(Occupation.name == name).first()
    assert row
    return row["id"]


async def approve(institution_id: int, name: str = AI, level: str = "junior",
                  valid_from: date = date(2026, 1, 1), valid_to: date = date(2030, 12, 31),
                  withdrawn: bool = False) -> int:
    rows = await Approval.insert(Approval(
        institution=institution_id, occupation=await occupation_id(name), level=level, valid_from=valid_from,
        valid_to=valid_to, document_number="鲁人社字〔2026〕9号", withdrawn=withdrawn,
    )).returning(Approval.id)
    return rows[0]["id"]
