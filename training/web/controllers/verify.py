"""Public certificate verification (证书查验), no login: the form (number + name), the page a QR code
opens, and ``GET /api/v1/verify/{code}``. Rate-limited per client address; unknown or malformed
codes get the same plain "not found"."""

from __future__ import annotations

from datetime import date

import msgspec
from litestar import Controller, Request, get
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from training.errors import NotFound
from training.services import certificates
from training.web.auth import client_addr
from training.web.rendering import page

RATE = ("minute", 30)
PUBLIC = {"exclude_from_auth": True}


def _identifier(request: Request) -> str:
    return f"verify::{client_addr(request) or 'unknown'}"


RATE_LIMIT = RateLimitConfig(rate_limit=RATE, identifier_for_request=_identifier, store="verify_rate_limit")


class VerificationOut(msgspec.Struct):
    number: str
    name: str
    id_masked: str
    occupation: str
    level: str
    level_label: str
    hours: float
    institution: str
    city: str
    issue_date: date
    status: str
    valid: bool
    revoked_on: date | None


class VerifyPagesController(Controller):
    include_in_schema = False
    middleware = [RATE_LIMIT.middleware]
    opt = PUBLIC

    @get("/verify", opt=PUBLIC)
    async def form(self, request: Request, number: FromQuery[str | None] = None,
                   name: FromQuery[str | None] = None) -> Response:
        if number is None and name is None:
            return page(request, "verify/form.html", number="", name="", error=None)
        number, name = (number or "").strip()[:40], (name or "").strip()[:64]
        try:
            view = await certificates.verify_by_number(number, name)
        except NotFound as exc:
            return page(request, "verify/form.html", status_code=404, number=number, name=name, error=exc.detail)
        return page(request, "verify/result.html", cert=view)

    @get("/verify/{code:str}", opt=PUBLIC)
    async def by_code(self, request: Request, code: FromPath[str]) -> Response:
        try:
            view = await certificates.verify(code)
        except NotFound as exc:
            return page(request, "verify/form.html", status_code=404, number="", name="", error=exc.detail)
        return page(request, "verify/result.html", cert=view)


class VerifyApiController(Controller):
    path = "/api/v1"
    tags = ["public"]
    middleware = [RATE_LIMIT.middleware]
    opt = PUBLIC

    @get("/verify/{code:str}", opt=PUBLIC, security=[],
         summary="Public verification of a certificate by its code (no login; rate-limited)")
    async def verify(self, code: FromPath[str]) -> VerificationOut:
        view = await certificates.verify(code)
        return msgspec.convert({k: v for k, v in view.items() if k != "code"}, VerificationOut)


ROUTES = [VerifyPagesController, VerifyApiController]
