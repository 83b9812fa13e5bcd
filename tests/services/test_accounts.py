"""Accounts: Argon2 hashes, sign-in throttling, tokens stored hashed and expiring, user creation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PASSWORD, make_institution, make_user
from training.errors import Conflict, Invalid, NotAuthenticated
from training.rules.clock import utcnow
from training.services import accounts
from training.tables import AuditEvent, AuthToken, User


async def test_passwords_are_stored_as_argon2_hashes(database):
    await make_user("province", username="prov")
    stored = await User.select(User.password_hash).where(User.username == "prov").first()
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in stored["password_hash"]


async def test_login_throttling_locks_after_five_failures(database):
    await make_user("province", username="prov")
    for _ in range(4):
        with pytest.raises(NotAuthenticated, match="用户名或密码错误"):
            await accounts.authenticate("prov", "wrong-password")
    with pytest.raises(NotAuthenticated, match="锁定15分钟"):
        await accounts.authenticate("prov", "wrong-password")
    # even the right password is refused while locked, and the message says so
    with pytest.raises(NotAuthenticated, match="暂时锁定"):
        await accounts.authenticate("prov", PASSWORD)


async def test_lock_expires_after_fifteen_minutes(database):
    await make_user("province", username="prov")
    await User.update({User.locked_until: utcnow() - timedelta(seconds=1)}).where(User.username == "prov")
    actor = await accounts.authenticate("prov", PASSWORD)
    assert actor.role == "province"


async def test_failed_logins_are_audited_without_the_password(database):
    await make_user("province", username="prov")
    with pytest.raises(NotAuthenticated):
        await accounts.authenticate("prov", "a-secret-attempt")
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.after).where(AuditEvent.action == "login.failed")
    assert len(events) == 1
    assert "a-secret-attempt" not in events[0]["after"]


async def test_unknown_user_gets_the_same_answer(database):
    with pytest.raises(NotAuthenticated, match="用户名或密码错误"):
        await accounts.authenticate("nobody", "whatever-password")


async def test_tokens_are_stored_hashed_and_expire(database):
    actor = await make_user("province", username="prov")
    issued = await accounts.issue_token(actor, "api", hours=1)
    stored = await AuthToken.select(AuthToken.token_hash).first()
    assert stored["token_hash"] != issued.token
    assert stored["token_hash"] == accounts.hash_token(issued.token)
    assert (await accounts.actor_for_token(issued.token, "api")).username == "prov"
    assert await accounts.actor_for_token(issued.token, "session") is None  # kinds do not mix
    await AuthToken.update({AuthToken.expires_at: utcnow() - timedelta(seconds=1)}, force=True)
    assert await accounts.actor_for_token(issued.token, "api") is None
    assert await accounts.purge_expired_tokens() == 1


async def test_deactivated_user_tokens_stop_working(database):
    actor = await make_user("province", username="prov")
    issued = await accounts.issue_token(actor, "session", hours=1)
    await User.update({User.active: False}).where(User.username == "prov")
    assert await accounts.actor_for_token(issued.token, "session") is None


async def test_user_belongs_to_exactly_its_organisation(database):
    institution_id = await make_institution("370200")
    clerk = await make_user("institution", org=str(institution_id))
    assert clerk.institution_id == institution_id
    assert clerk.city_code == "370200"
    city = await make_user("city", org="370100")
    assert city.city_code == "370100"
    assert city.institution_id is None


@pytest.mark.parametrize(
    ("role", "org", "field"),
    [("city", "999999", "org"), ("institution", "12345", "org"), ("mayor", "", "role")],
)
async def test_create_user_refuses_unknown_organisations(database, role, org, field):
    with pytest.raises(Invalid) as caught:
        await accounts.create_user(username="x", password=PASSWORD, role=role, org=org)
    assert field in caught.value.fields


async def test_create_user_refuses_short_password_and_duplicates(database):
    with pytest.raises(Invalid, match="10"):
        await accounts.create_user(username="x", password="short", role="province")
    await make_user("province", username="dup")
    with pytest.raises(Conflict):
        await accounts.create_user(username="dup", password=PASSWORD, role="province")
