"""The notification inbox: unread counts and read marks per user, scope per organisation, the
pages, the nav badge and the API; and the city told when a cohort awaits its approval."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import bearer, csrf, login, make_institution, make_user
from tests.plans_factories import make_scene
from training.errors import NotFound
from training.rules.clock import today_in_china
from training.services import cohorts, notifications
from training.tables import Cohort, Notification


async def send_to_city(code: str, key: str, title: str = "计划提醒", link: str = "/plans") -> int:
    from tests.factories import city_id

    await notifications.notify(recipient_role="city", city_id=await city_id(code), kind="plan_due", title=title,
                               body="请尽快提交。", link=link, dedupe_key=key)
    return (await Notification.select(Notification.id).where(Notification.dedupe_key == key).first())["id"]


async def test_unread_counts_and_read_marks_are_per_user(database):
    jinan_a = await make_user("city", "370100")
    jinan_b = await make_user("city", "370100")
    first = await send_to_city("370100", "k1")
    second = await send_to_city("370100", "k2")
    assert await notifications.unread_count(jinan_a) == 2
    await notifications.mark_read(jinan_a, first)
    await notifications.mark_read(jinan_a, first)  # twice: still one mark
    assert await notifications.unread_count(jinan_a) == 1
    assert await notifications.unread_count(jinan_b) == 2  # a colleague still sees it unread
    rows = await notifications.inbox(jinan_a)
    assert [(r["id"] == first, r["read"]) for r in rows] == [(False, False), (True, True)]
    assert [r["id"] for r in await notifications.inbox(jinan_a, unread_only=True)] == [second]
    assert await notifications.mark_all_read(jinan_b) == 2
    assert await notifications.unread_count(jinan_b) == 0


async def test_a_city_never_sees_another_citys_notifications(database):
    jinan = await make_user("city", "370100")
    qingdao = await make_user("city", "370200")
    province = await make_user("province")
    institution = await make_user("institution", str(await make_institution("370100")))
    theirs = await send_to_city("370200", "q1")
    await notifications.notify(recipient_role="province", kind="plan_late", title="汇总", dedupe_key="p1")
    assert await notifications.inbox(jinan) == []
    assert await notifications.unread_count(jinan) == 0
    with pytest.raises(NotFound):
        await notifications.mark_read(jinan, theirs)
    with pytest.raises(NotFound):
        await notifications.mark_read(institution, theirs)
    assert await notifications.mark_all_read(jinan) == 0
    assert await notifications.unread_count(qingdao) == 1  # untouched by the refused attempts
    assert [r["title"] for r in await notifications.inbox(province)] == ["汇总"]  # only what is addressed to it
    assert await notifications.inbox(institution) == []


async def test_submitting_a_cohort_tells_its_city_once_per_submission(database):
    scene = await make_scene()
    other_city = await make_user("city", "370200")
    cohort_id = await cohorts.open_cohort(scene.institution, cohorts.CohortInput(
        plan_line_id=scene.line_id, planned_start=today_in_china() + timedelta(days=10),
        planned_end=today_in_china() + timedelta(days=50), capacity=30, name="数据分析班"))

    async def version() -> int:
        return (await Cohort.select(Cohort.lock_version).where(Cohort.id == cohort_id).first())["lock_version"]

    await cohorts.submit(scene.institution, cohort_id, await version())
    inbox = await notifications.inbox(scene.city)
    assert len(inbox) == 1 and inbox[0]["kind"] == "cohort_submitted"
    assert "数据分析班" in inbox[0]["title"] and inbox[0]["link"] == f"/cohorts/{cohort_id}"
    assert await notifications.inbox(other_city) == []
    await cohorts.reject(scene.city, cohort_id, await version(), "人数不足")
    await cohorts.submit(scene.institution, cohort_id, await version())  # a resubmission is news again
    assert await notifications.unread_count(scene.city) == 2


# --- pages and API -------------------------------------------------------------------------


async def test_inbox_page_highlights_unread_and_marks_read(client, database):
    user = await make_user("city", "370100", username="jinan-officer")
    first = await send_to_city("370100", "w1", title="第一条通知", link="/plans")
    await send_to_city("370100", "w2", title="第二条通知", link="https://evil.example/")
    await login(client, "jinan-officer")
    badge = await client.get("/notifications/badge")
    assert badge.status_code == 200 and 'class="count-badge"' in badge.text and ">2<" in badge.text
    home = await client.get("/")
    assert 'hx-get="/notifications/badge"' in home.text
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert page.text.count('class="unread"') == 2 and "第一条通知" in page.text
    opened = await client.post(f"/notifications/{first}/read", data={"open": "1"}, headers=csrf(client),
                               follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/plans"
    assert await notifications.unread_count(user) == 1
    second = (await Notification.select(Notification.id).where(Notification.dedupe_key == "w2").first())["id"]
    outward = await client.post(f"/notifications/{second}/read", data={"open": "1"}, headers=csrf(client),
                                follow_redirects=False)
    assert outward.headers["location"] == "/notifications"  # never sent off-site
    page = await client.get("/notifications?unread=1")
    assert "没有未读通知" in page.text
    assert "count-badge" not in (await client.get("/notifications/badge")).text


async def test_marking_another_citys_notification_is_404_on_pages_and_api(client, database):
    await make_user("city", "370100", username="jinan-officer")
    theirs = await send_to_city("370200", "x1")
    await login(client, "jinan-officer")
    response = await client.post(f"/notifications/{theirs}/read", data={}, headers=csrf(client),
                                 follow_redirects=False)
    assert response.status_code == 404
    headers = await bearer(client, "jinan-officer")
    api = await client.post(f"/api/v1/notifications/{theirs}/read", headers=headers)
    assert api.status_code == 404 and api.json()["error"] == "not_found"


async def test_api_lists_counts_and_marks(client, database):
    await make_user("city", "370100", username="jinan-api")
    first = await send_to_city("370100", "a1", title="一")
    await send_to_city("370100", "a2", title="二")
    headers = await bearer(client, "jinan-api")
    listed = (await client.get("/api/v1/notifications", headers=headers)).json()
    assert [n["title"] for n in listed] == ["二", "一"] and not any(n["read"] for n in listed)
    assert set(listed[0]) == {"id", "kind", "title", "body", "link", "created_at", "read"}
    assert (await client.post(f"/api/v1/notifications/{first}/read", headers=headers)).json() == {"marked": 1}
    unread = (await client.get("/api/v1/notifications?unread=1", headers=headers)).json()
    assert [n["title"] for n in unread] == ["二"]
    assert (await client.get("/api/v1/notifications/unread-count", headers=headers)).json() == {"unread": 1}
    assert (await client.post("/api/v1/notifications/read-all", headers=headers)).json() == {"marked": 1}
    assert (await client.get("/api/v1/notifications/unread-count", headers=headers)).json() == {"unread": 0}
