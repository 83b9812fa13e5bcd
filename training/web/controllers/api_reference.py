"""/api/v1: tokens and the reference data every user reads."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from training.access import Actor
from training.services import accounts, reference
from training.web.auth import client_addr


class TokenRequest(msgspec.Struct):
    username: str
    password: str


class TokenResponse(msgspec.Struct):
    token: str
    expires_at: datetime
    role: str


class CityOut(msgspec.Struct):
    code: str
    name: str
    name_en: str


class StandardOut(msgspec.Struct):
    level: str
    version_label: str
    required_hours: float
    min_practice_hours: float
    max_online_share: float
    illustrative: bool


class OccupationOut(msgspec.Struct):
    id: int
    field: str
    name: str
    name_en: str
    national_code: str
    levels: list[str]
    standards: list[StandardOut]


class AuthApiController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", opt={"exclude_from_auth": True}, status_code=200, security=[],
          summary="Exchange a username and password for a bearer token")
    async def token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenResponse:
        actor = await accounts.authenticate(data.username, data.password, client_addr(request))
        issued = await accounts.issue_token(actor, "api", request.app.state.settings.token_hours)
        return TokenResponse(token=issued.token, expires_at=issued.expires_at, role=actor.role)


class ReferenceApiController(Controller):
    path = "/api/v1"
    tags = ["reference"]

    @get("/cities", summary="The 16 cities of Shandong (GB/T 2260)")
    async def cities(self, actor: NamedDependency[Actor]) -> list[CityOut]:
        return msgspec.convert(await reference.list_cities(), list[CityOut])

    @get("/occupations", summary="Occupations with their levels and hour standards")
    async def occupations(self, actor: NamedDependency[Actor]) -> list[OccupationOut]:
        return msgspec.convert(await reference.list_occupations(), list[OccupationOut])

ROUTES = [AuthApiController, ReferenceApiController]
