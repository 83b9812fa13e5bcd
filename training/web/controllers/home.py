"""Sign-in, sign-out, language, the home page per role and the health check."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor
from training.errors import NotAuthenticated
from training.services import accounts, overview
from training.web.auth import SESSION_COOKIE, client_addr
from training.web.i18n import LANGUAGES
from training.web.rendering import LANG_COOKIE, page


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//host" or "https://…" would make the login an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class HomeController(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request, actor: NamedDependency[Actor]) -> Response:
        figures = await overview.overview(actor)
        return page(request, "home.html", figures=figures)

    @get("/login", opt={"exclude_from_auth": True})
    async def login_form(self, request: Request, next: FromQuery[str | None] = None) -> Response:
        return page(request, "login.html", next=_safe_next(next), error=None, username="")

    @post("/login", opt={"exclude_from_auth": True}, status_code=200)
    async def login(self, request: Request, data: URLEncodedBody[dict[str, Any]]) -> Response:
        username = str(data.get("username", ""))
        target = _safe_next(str(data.get("next", "/")))
        try:
            actor = await accounts.authenticate(username, str(data.get("password", "")), client_addr(request))
        except NotAuthenticated as exc:
            return page(request, "login.html", status_code=401, next=target, username=username,
                        error=exc.detail)
        settings = request.app.state.settings
        issued = await accounts.issue_token(actor, "session", settings.session_hours)
        response = Redirect(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, issued.token, max_age=settings.session_hours * 3600,
                            httponly=True, secure=settings.secure_cookies, samesite="lax", path="/")
        if actor.locale in LANGUAGES:
            response.set_cookie(LANG_COOKIE, actor.locale, max_age=365 * 86400, samesite="lax")
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request, actor: NamedDependency[Actor]) -> Redirect:
        await accounts.revoke_token(request.cookies.get(SESSION_COOKIE, ""), actor)
        response = Redirect("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/lang/{code:str}", opt={"exclude_from_auth": True})
    async def switch_language(self, request: Request, code: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
        response = Redirect(_safe_next(next or request.headers.get("referer-path")), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
        return response


class SystemController(Controller):
    @get("/healthz", opt={"exclude_from_auth": True}, tags=["system"], summary="Health check (database)")
    async def healthz(self) -> Response[dict[str, str]]:
        from training.tables import City

        try:
            await City.count()
        except Exception as exc:  # the point of a health check is to report, not raise
            return Response({"status": "error", "database": type(exc).__name__}, status_code=503)
        return Response({"status": "ok", "database": "ok"})

ROUTES = [HomeController, SystemController]
