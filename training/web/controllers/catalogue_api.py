"""/api/v1/cities/{code}/catalogue: a city's training catalogue, its additions, removals and history."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response

from training.access import Actor
from training.services import catalogue
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response


class CatalogueEntryOut(msgspec.Struct):
    id: int
    city_code: str
    institution_id: int
    institution_name: str
    credit_code: str
    institution_status: str
    occupation_id: int
    occupation_name: str
    added_at: datetime
    added_by: str | None
    added_reason: str
    removed_at: datetime | None
    removed_by: str | None
    removed_reason: str
    current: bool


class CatalogueAdd(msgspec.Struct):
    institution_id: int
    occupation_ids: list[int]
    reason: str = ""


class CatalogueRemove(msgspec.Struct):
    reason: str


class CatalogueEventOut(msgspec.Struct):
    id: int
    event: str  # added / removed
    at: datetime
    by: str
    reason: str
    institution_id: int
    institution_name: str
    occupation_id: int
    occupation_name: str


class CatalogueApiController(Controller):
    path = "/api/v1/cities/{city_code:str}/catalogue"
    tags = ["catalogue"]

    @get("", summary="A city's catalogue (current entries; include_removed=true for every entry)",
         description="A city reads its own; the province reads every city's; an institution reads the "
                     "entries about itself. Another city's catalogue answers 404.",
         response_headers=PAGED_HEADERS)
    async def entries(self, request: Request, actor: NamedDependency[Actor], city_code: FromPath[str],
                      include_removed: FromQuery[bool] = False, page: FromQuery[int] = 1,
                      page_size: FromQuery[int] = 50) -> Response[list[CatalogueEntryOut]]:
        paging = page_params(page, page_size)
        rows = await catalogue.list_entries(actor, city_code, include_removed=include_removed)
        return paged_response(msgspec.convert(paging.slice(rows), list[CatalogueEntryOut]), len(rows), paging,
                              request)

    @post("", guards=[roles("city")], summary="Add an institution for some of its approved occupations (that city)",
          description="409 when the institution is suspended or revoked, an occupation is not approved, or "
                      "an entry is already in the catalogue; 404 for another city's catalogue.")
    async def add(self, actor: NamedDependency[Actor], city_code: FromPath[str],
                  data: JSONBody[CatalogueAdd]) -> list[CatalogueEntryOut]:
        rows = await catalogue.add_entries(actor, city_code, data.institution_id, data.occupation_ids, data.reason)
        return msgspec.convert(rows, list[CatalogueEntryOut])

    @post("/{entry_id:int}/remove", guards=[roles("city")], status_code=200,
          summary="Remove an entry with a reason; the row is kept for the history (that city)")
    async def remove(self, actor: NamedDependency[Actor], city_code: FromPath[str], entry_id: FromPath[int],
                     data: JSONBody[CatalogueRemove]) -> CatalogueEntryOut:
        return msgspec.convert(await catalogue.remove_entry(actor, city_code, entry_id, data.reason),
                               CatalogueEntryOut)

    @get("/history", summary="Every addition and removal, newest first (paginated)", response_headers=PAGED_HEADERS)
    async def history(self, request: Request, actor: NamedDependency[Actor], city_code: FromPath[str],
                      page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[CatalogueEventOut]]:
        paging = page_params(page, page_size)
        rows = await catalogue.history(actor, city_code)
        return paged_response(msgspec.convert(paging.slice(rows), list[CatalogueEventOut]), len(rows), paging,
                              request)


ROUTES = [CatalogueApiController]
