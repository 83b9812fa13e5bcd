"""Paginated lists under /api/v1: ``page`` / ``page_size`` query parameters, the body unchanged (a JSON
array stays an array), the total in ``X-Total-Count`` and RFC 8288 ``Link`` headers (first/prev/next/last).

Usage in a controller::

    from training.web.pagination import PAGED_HEADERS, page_params, paged_response

    @get("/things", response_headers=PAGED_HEADERS)
    async def things(self, request: Request, actor: NamedDependency[Actor],
                     page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[ThingOut]]:
        paging = page_params(page, page_size)           # 400 {"fields": {"page_size": ...}} when out of range
        rows, total = await things_service.list(actor, limit=paging.limit, offset=paging.offset)
        return paged_response([thing_out(r) for r in rows], total, paging, request)

A service that loads a small, bounded list whole (a cohort's sessions) can be paged after loading with
``paging.slice(rows)`` and ``len(rows)`` as the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import ResponseHeader

from training.errors import BadInput

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")

PAGED_HEADERS = [
    ResponseHeader(name="X-Total-Count", description="Rows matching the filters, over all pages",
                   documentation_only=True),
    ResponseHeader(name="Link", description='RFC 8288 links: rel="first", "prev", "next", "last"',
                   documentation_only=True),
]


@dataclass(frozen=True, slots=True)
class Page:
    """A checked page request: ``page`` from 1, ``size`` rows per page."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def limit(self) -> int:
        return self.size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def slice(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset:self.offset + self.size])

    def last_page(self, total: int) -> int:
        return max(1, -(-total // self.size))


def page_params(page: int | str | None = 1, page_size: int | str | None = DEFAULT_PAGE_SIZE, *,
                max_size: int = MAX_PAGE_SIZE) -> Page:
    """Check the query parameters: ``page`` ≥ 1, ``page_size`` 1..max_size; else BadInput (400) naming the field."""
    number = _as_int(page, "page", 1)
    size = _as_int(page_size, "page_size", DEFAULT_PAGE_SIZE)
    if number < 1:
        raise BadInput("页码应从 1 开始", fields={"page": "页码应为不小于 1 的整数"})
    if number > 1_000_000:
        raise BadInput("页码过大", fields={"page": "页码过大"})
    if size < 1 or size > max_size:
        raise BadInput(f"每页条数应在 1 至 {max_size} 之间",
                       fields={"page_size": f"每页条数应在 1 至 {max_size} 之间"})
    return Page(number, size)


def _as_int(value: int | str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise BadInput("分页参数应为整数", fields={name: "应为整数"}) from None


def page_headers(total: int, paging: Page, request: Request[Any, Any, Any]) -> dict[str, str]:
    """``X-Total-Count`` and the ``Link`` header for this request's URL with the page replaced."""
    last = paging.last_page(total)
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size")]
    base = request.url.path

    def url(number: int) -> str:
        return f"{base}?{urlencode([*params, ('page', number), ('page_size', paging.size)])}"

    links = [f'<{url(1)}>; rel="first"']
    if paging.page > 1:
        links.append(f'<{url(min(paging.page - 1, last))}>; rel="prev"')
    if paging.page < last:
        links.append(f'<{url(paging.page + 1)}>; rel="next"')
    links.append(f'<{url(last)}>; rel="last"')
    return {"X-Total-Count": str(total), "Link": ", ".join(links)}


def paged_response(items: T, total: int, paging: Page, request: Request[Any, Any, Any], *,
                   status_code: int = 200) -> Response[T]:
    """The items as the body (unchanged shape) with the paging headers."""
    return Response(items, status_code=status_code, headers=page_headers(total, paging, request))
