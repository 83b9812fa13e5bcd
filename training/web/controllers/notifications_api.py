"""/api/v1: the notification inbox of the caller's organisation, with this user's read marks."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from training.access import Actor
from training.services import notifications


class NotificationOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


class UnreadOut(msgspec.Struct):
    unread: int


class MarkedOut(msgspec.Struct):
    marked: int


class NotificationsApiController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", summary="Notifications to my organisation, newest first (?unread=1: only those I have not read)")
    async def index(self, actor: NamedDependency[Actor], unread: FromQuery[bool] = False) -> list[NotificationOut]:
        rows = await notifications.inbox(actor, unread_only=unread)
        return [msgspec.convert(r, NotificationOut, from_attributes=True) for r in rows]

    @get("/unread-count", summary="How many notifications I have not read")
    async def unread_count(self, actor: NamedDependency[Actor]) -> UnreadOut:
        return UnreadOut(unread=await notifications.unread_count(actor))

    @post("/{notification_id:int}/read", status_code=200,
          summary="Mark one read for me (colleagues keep their own marks); another organisation's is 404")
    async def read(self, actor: NamedDependency[Actor], notification_id: FromPath[int]) -> MarkedOut:
        await notifications.mark_read(actor, notification_id)
        return MarkedOut(marked=1)

    @post("/read-all", status_code=200, summary="Mark every notification to my organisation read for me")
    async def read_all(self, actor: NamedDependency[Actor]) -> MarkedOut:
        return MarkedOut(marked=await notifications.mark_all_read(actor))


ROUTES = [NotificationsApiController]
