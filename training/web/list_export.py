"""Every list page exports what it shows: ``?format=xlsx`` or ``?format=csv`` on the page's own URL.

The page handler calls its service ONCE with the page's filters and scope; when ``format`` is given
it answers the rows as a file instead of the page, so an export can never hold rows the page would
not show (no second query path). Usage in a page handler::

    from training.web.list_export import ExportColumn, export_or_none

    COLUMNS = [ExportColumn("名称", "name"), ExportColumn("城市", "city_name"),
               ExportColumn("状态", lambda r: label(r["status"]))]

    @get("/things")
    async def things(self, request, actor, city: FromQuery[str | None] = None,
                     format: FromQuery[str | None] = None) -> Response:
        rows = await service.list_things(actor, city=city, **export_bounds(format, page, page_size))
        if (download := await export_or_none(format, "things", "机构", COLUMNS, rows)) is not None:
            return download
        return page(request, "things.html", rows=rows)

``export_bounds`` gives a paged page the whole filtered set (up to ``MAX_EXPORT_ROWS``) for a download.
For a paged service (``Page`` with ``items``/``total``), wrap the call in one ``fetch(page, page_size)``
used by both the page and the download::

    async def fetch(number: int, size: int) -> Page:
        return await service.list_things(actor, city=city, page=number, page_size=size)

    if (download := await export_pages(format, "things", "机构", COLUMNS, fetch)) is not None:
        return download
    listed = await fetch(page_number, 50)

ID numbers are masked in every export (any 18-character resident ID found in a cell).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request
from litestar.response import Response

from training.documents import tabular
from training.errors import BadInput
from training.rules.clock import to_local, today_in_china
from training.rules.identity import mask_id_number

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
MAX_EXPORT_ROWS = 100_000
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """A column of the file: its Chinese header and the row key (or a function of the row) it shows."""

    header: str
    value: str | Callable[[dict[str, Any]], Any]

    def cell(self, row: dict[str, Any]) -> Any:
        value = self.value(row) if callable(self.value) else row.get(self.value)
        return cell_value(value)


def mask_ids(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)


def cell_value(value: Any) -> Any:
    """A value fit for a spreadsheet cell: local times, plain dates, masked IDs, no formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        local = to_local(value)
        return local.strftime("%Y-%m-%d %H:%M:%S") if local else ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    text = mask_ids(str(value))
    # A cell starting with = + - @ would be run as a formula by a spreadsheet program.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_format(fmt: str | None) -> str | None:
    """``None``/empty: no export; xlsx/csv: that format; anything else: 400 naming ``format``."""
    if fmt is None or fmt == "" or fmt == "html":
        return None
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise BadInput("导出格式应为 xlsx 或 csv", fields={"format": "应为 xlsx 或 csv"})
    return fmt


def export_bounds(fmt: str | None, page: int, page_size: int) -> tuple[int, int]:
    """(page, page_size) for a paged service: the page's own, or everything (capped) for an export."""
    return (1, MAX_EXPORT_ROWS) if check_format(fmt) else (page, page_size)


def _build(fmt: str, title: str, columns: Sequence[ExportColumn], rows: Iterable[dict[str, Any]]) -> bytes:
    headers = [c.header for c in columns]
    body = ([c.cell(row) for c in columns] for row in rows)
    if fmt == "csv":
        return tabular.write_csv(headers, body)
    return tabular.write_xlsx([(title, headers, body)])


async def render(fmt: str, name: str, title: str, columns: Sequence[ExportColumn],
                 rows: Iterable[dict[str, Any]]) -> Response[bytes]:
    """The file as a download named ``<name>-<China date>.<fmt>`` (built off the event loop)."""
    content = await asyncio.to_thread(_build, fmt, title, columns, list(rows))
    filename = f"{name}-{today_in_china():%Y%m%d}.{fmt}"
    return Response(content, media_type=FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


async def export_or_none(fmt: str | None, name: str, title: str, columns: Sequence[ExportColumn],
                         rows: Iterable[dict[str, Any]]) -> Response[bytes] | None:
    """The download when ``fmt`` asks for one, else ``None`` (render the page as usual)."""
    checked = check_format(fmt)
    if checked is None:
        return None
    return await render(checked, name, title, columns, rows)


async def every_page(fetch: Callable[[int, int], Awaitable[Any]], page_size: int = 200,
                     limit: int = MAX_EXPORT_ROWS) -> list[dict[str, Any]]:
    """All rows of a paged service call, page by page (``fetch(page, page_size)`` → ``.items``, ``.total``)."""
    rows: list[dict[str, Any]] = []
    number = 1
    while len(rows) < limit:
        result = await fetch(number, page_size)
        rows.extend(result.items)
        if not result.items or len(rows) >= result.total:
            break
        number += 1
    return rows[:limit]


async def export_pages(fmt: str | None, name: str, title: str, columns: Sequence[ExportColumn],
                       fetch: Callable[[int, int], Awaitable[Any]], page_size: int = 200) -> Response[bytes] | None:
    """The download of every page of ``fetch`` when ``fmt`` asks for one, else ``None``."""
    checked = check_format(fmt)
    if checked is None:
        return None
    return await render(checked, name, title, columns, await every_page(fetch, page_size))


def export_query(request: Request[Any, Any, Any]) -> str:
    """The page's filters as a query string (without paging or format) for its export links."""
    skip = {"page", "page_number", "page_size", "format", "saved", "notice", "verify"}
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in skip])
