"""Pages: the notification inbox (unread highlighted, mark one or all read) and the nav badge."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor
from training.services import notifications
from training.web.rendering import page


def _local_target(link: str) -> str:
    """Only a path inside this site (never ``//elsewhere`` or a full URL)."""
    return link if link.startswith("/") and not link.startswith("//") and "\\" not in link else "/notifications"


class NotificationPagesController(Controller):
    path = "/notifications"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, actor: NamedDependency[Actor], unread: FromQuery[bool] = False,
                    notice: FromQuery[str | None] = None) -> Response:
        rows = await notifications.inbox(actor, unread_only=unread)
        unread_total = await notifications.unread_count(actor)
        notices = {"all_read": "已全部标为已读"}
        return page(request, "notifications/index.html", rows=rows, unread_only=unread, unread_total=unread_total,
                    notice=notices.get(notice or ""))

    @get("/badge")
    async def badge(self, request: Request, actor: NamedDependency[Actor]) -> Response:
        return page(request, "notifications/_badge.html", unread=await notifications.unread_count(actor))

    @post("/{notification_id:int}/read", status_code=303)
    async def read(self, actor: NamedDependency[Actor], notification_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Redirect:
        row = await notifications.mark_read(actor, notification_id)
        target = _local_target(row["link"]) if str(data.get("open", "")) == "1" else "/notifications"
        return Redirect(target, status_code=303)

    @post("/read-all", status_code=303)
    async def read_all(self, actor: NamedDependency[Actor]) -> Redirect:
        await notifications.mark_all_read(actor)
        return Redirect("/notifications?notice=all_read", status_code=303)


ROUTES = [NotificationPagesController]
