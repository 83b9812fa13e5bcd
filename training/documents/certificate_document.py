"""The training certificate (培训合格证书) as a Word document (python-docx), with a QR code of its
public verification address (segno). One landscape A4 page; Chinese text in 宋体/黑体 via ``w:eastAsia``.

The layout (title, wording, sizes) is read from ``reports/certificate_layout.json`` when present,
so the wording can be changed without touching code.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import segno
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from training.rules.clock import to_local
from training.settings import PROJECT_ROOT

LAYOUT_PATH = PROJECT_ROOT / "reports" / "certificate_layout.json"
DEFAULT_LAYOUT: dict[str, Any] = {
    "issuer": "山东省数字技术工程师培育项目",
    "title": "培训合格证书",
    "body": "{name}同志于{start}至{end}参加{institution}举办的{occupation}（{level}）数字技术工程师培训，"
            "完成规定学时{hours}学时，经结业考核合格，特发此证。",
    "footer": "扫描二维码或访问下方网址查验证书真伪",
    "revoked": "本证书已于{date}撤销，不再有效。",
    "title_size": 30,
    "body_size": 15,
    "qr_cm": 3.6,
}
LATIN = "Times New Roman"
SONG = "宋体"
HEI = "黑体"


def layout() -> dict[str, Any]:
    values = dict(DEFAULT_LAYOUT)
    if LAYOUT_PATH.exists():
        values.update(json.loads(LAYOUT_PATH.read_text(encoding="utf-8")))
    return values


def _fonts(run: Any, east_asia: str) -> None:
    run.font.name = LATIN
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)


def _paragraph(container: Any, text: str, *, size: float, east_asia: str = SONG, bold: bool = False,
               align: Any = WD_ALIGN_PARAGRAPH.CENTER, after: float = 6, color: RGBColor | None = None) -> Any:
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    if color is not None:
        run.font.color.rgb = color
    _fonts(run, east_asia)
    return paragraph


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def _day(value: Any) -> str:
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value or "")


def build(cert: dict[str, Any], verify_url: str) -> bytes:
    """Blocking: call through ``asyncio.to_thread``. ``cert`` is the service's certificate view
    (``id_masked``, never the whole ID number)."""
    spec = layout()
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.5))
    section.top_margin = section.bottom_margin = Cm(1.8)
    document.core_properties.title = f"{spec['title']} {cert['number']}"

    _paragraph(document, spec["issuer"], size=14, east_asia=HEI, after=4)
    _paragraph(document, spec["title"], size=spec["title_size"], east_asia=HEI, bold=True, after=14,
               color=RGBColor(0xB0, 0x1E, 0x23))
    body = spec["body"].format(
        name=cert["name"], start=_day(cert.get("planned_start")), end=_day(cert.get("planned_end")),
        institution=cert["institution_name"], occupation=cert["occupation_name"], level=cert["level_label"],
        hours=f"{float(cert['hours']):g}",
    )
    _paragraph(document, body, size=spec["body_size"], align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=12)

    facts = [
        ("姓　　名", cert["name"]),
        ("身份证号", cert["id_masked"]),
        ("职　　业", cert["occupation_name"]),
        ("等　　级", cert["level_label"]),
        ("培训学时", f"{float(cert['hours']):g}"),
        ("培训机构", cert["institution_name"]),
        ("证书编号", cert["number"]),
        ("发证日期", _day(cert["issue_date"])),
    ]
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.width, right.width = Cm(17.5), Cm(6.5)
    left.paragraphs[0].text = ""
    for label, value in facts:
        paragraph = left.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(2)
        head = paragraph.add_run(f"{label}：")
        head.bold = True
        head.font.size = Pt(12)
        _fonts(head, HEI)
        tail = paragraph.add_run(str(value))
        tail.font.size = Pt(12)
        _fonts(tail, SONG)
    picture = right.paragraphs[0]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.add_run().add_picture(io.BytesIO(qr_png(verify_url)), width=Cm(spec["qr_cm"]))
    _paragraph(right, spec["footer"], size=9)
    _paragraph(right, verify_url, size=8, east_asia=SONG)
    _paragraph(right, f"验证码：{cert['verification_code']}", size=9)

    if cert.get("status") == "revoked":
        revoked = to_local(cert.get("revoked_at"))
        when = revoked.date() if revoked else ""
        _paragraph(document, spec["revoked"].format(date=_day(when)), size=16, east_asia=HEI, bold=True,
                   color=RGBColor(0xB0, 0x1E, 0x23))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
