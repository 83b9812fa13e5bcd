"""Who is asking: browser sessions (cookie) for pages, bearer tokens for /api/v1, and role guards.

Pages accept only the session cookie and the API only a bearer token, so a forged cross-site
request can never ride on a browser's cookie into the API (the pages are CSRF-protected).
"""

from __future__ import annotations

from collections.abc import Callable

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from training.access import Actor
from training.services import accounts

SESSION_COOKIE = "training_session"
API_PREFIX = "/api/"


def client_addr(connection: ASGIConnection) -> str:
    return connection.client.host if connection.client else ""


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        addr = client_addr(connection)
        if connection.url.path.startswith(API_PREFIX):
            header = connection.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise NotAuthorizedException("缺少访问令牌（Authorization: Bearer …）")
            actor = await accounts.actor_for_token(token.strip(), "api", addr)
            if actor is None:
                raise NotAuthorizedException("访问令牌无效或已过期，请重新获取")
            return AuthenticationResult(user=actor, auth=token)
        token = connection.cookies.get(SESSION_COOKIE, "")
        actor = await accounts.actor_for_token(token, "session", addr) if token else None
        if actor is None:
            raise NotAuthorizedException("请先登录")
        return AuthenticationResult(user=actor, auth=token)


def roles(*allowed: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard letting only the named roles reach a handler (scope is checked in the service)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        actor: Actor = connection.user
        if actor.role not in allowed:
            raise PermissionDeniedException("您的角色无权访问此页面")

    guard.__name__ = f"roles_{'_'.join(allowed)}"
    return guard


async def provide_actor(request: Request) -> Actor:
    """Dependency ``actor``: the signed-in user with the client's address attached."""
    return request.user
