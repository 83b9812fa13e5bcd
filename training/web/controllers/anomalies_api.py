"""/api/v1/anomalies: anomaly flags (异常线索) and the city's review of each (province and city)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response

from training.access import Actor
from training.errors import Invalid
from training.services import anomalies
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response


class AnomalyOut(msgspec.Struct):
    id: int
    kind: str
    kind_label: str
    city_code: str
    city_name: str
    institution: int | None
    institution_name: str | None
    cohort: int | None
    cohort_code: str | None
    trainee: int | None
    trainee_name: str | None
    details: dict[str, Any]
    detected_at: datetime
    review_status: str
    review_note: str
    reviewer: str | None
    reviewed_at: datetime | None


class ReviewIn(msgspec.Struct):
    """``decision``: explained (``note`` required) or confirmed (counts against the institution)."""

    decision: str
    note: str = ""


class ReviewOut(msgspec.Struct):
    id: int
    review_status: str
    review_note: str
    reviewer: str
    reviewed_at: datetime


def flag_out(row: dict[str, Any]) -> AnomalyOut:
    details = row.get("details") if isinstance(row.get("details"), dict) else {}
    return AnomalyOut(
        id=row["id"], kind=row["kind"], kind_label=anomalies.KIND_LABELS.get(row["kind"], row["kind"]),
        city_code=row["city_code"] or "", city_name=row["city_name"] or "", institution=row["institution"],
        institution_name=row["institution_name"], cohort=row["cohort"], cohort_code=row["cohort_code"],
        trainee=row["trainee"], trainee_name=row["trainee_name"], details=details,
        detected_at=row["detected_at"], review_status=row["review_status"], review_note=row["review_note"] or "",
        reviewer=row["reviewer"], reviewed_at=row["reviewed_at"])


class AnomalyApiController(Controller):
    path = "/api/v1/anomalies"
    tags = ["anomalies"]
    guards = [roles("province", "city")]

    @get("", summary="Anomaly flags in your scope, newest first (city: its own; paginated)",
         description="Filters: kind, status (open / explained / confirmed / reviewed / all), institution (id), "
                     "cohort (id). An unknown kind or status answers 422 naming the field.",
         response_headers=PAGED_HEADERS)
    async def index(self, request: Request, actor: NamedDependency[Actor], kind: FromQuery[str | None] = None,
                    status: FromQuery[str | None] = None, institution: FromQuery[str | None] = None,
                    cohort: FromQuery[int | None] = None, page: FromQuery[int] = 1,
                    page_size: FromQuery[int] = 50) -> Response[list[AnomalyOut]]:
        paging = page_params(page, page_size)
        selection = anomalies.parse_filter(kind=kind, status=status, institution=institution, cohort_id=cohort)
        rows = await anomalies.list_flags(actor, selection=selection, limit=paging.limit, offset=paging.offset)
        total = await anomalies.count_flags(actor, selection)
        return paged_response([flag_out(r) for r in rows], total, paging, request)

    @post("/{flag_id:int}/review", status_code=200,
          summary="Review a flag: explained (with a note) or confirmed; a reviewed flag may be reviewed again",
          description="422 with fields.note when explained without a note, fields.status for another decision; "
                      "404 for a flag outside your city.")
    async def review(self, actor: NamedDependency[Actor], flag_id: FromPath[int],
                     data: JSONBody[ReviewIn]) -> ReviewOut:
        if data.decision not in anomalies.REVIEW_DECISIONS:
            raise Invalid("请选择核查结论", fields={"decision": "应为 explained 或 confirmed"})
        result = await anomalies.review_flag(actor, flag_id, data.decision, data.note)
        return msgspec.convert(result, ReviewOut)


ROUTES = [AnomalyApiController]
