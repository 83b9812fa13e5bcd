"""Accounts: passwords (Argon2), sign-in with throttling, browser sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from training import db
from training.access import SYSTEM, Actor
from training.errors import Conflict, Invalid, NotAuthenticated
from training.rules.clock import to_local, utcnow
from training.services import audit
from training.tables import AuthToken, City, Institution, User

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str) -> None:
    if len(password) < 10:
        raise Invalid("密码至少10位", fields={"password": "密码至少10位"})


def actor_from_row(row: dict[str, Any], client_addr: str = "") -> Actor:
    return Actor(
        user_id=row["id"],
        username=row["username"],
        role=row["role"],
        city_id=row.get("org_city") or None,
        city_code=row.get("org_city_code") or "",
        institution_id=row.get("institution") or None,
        client_addr=client_addr,
        display_name=row.get("display_name") or row["username"],
        locale=row.get("locale") or "",
    )


_ACTOR_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.role,
    User.institution,
    User.locale,
    User.active,
)


async def _actor_for_user_id(user_id: int, client_addr: str) -> Actor | None:
    row = await User.select(*_ACTOR_COLUMNS, User.city.id.as_alias("city"),
                            User.institution.city.id.as_alias("inst_city")).where(User.id == user_id).first()
    if row is None or not row["active"]:
        return None
    city_id = row["city"] or row["inst_city"]
    city_code = ""
    if city_id:
        city = await City.select(City.code).where(City.id == city_id).first()
        city_code = city["code"] if city else ""
    row["org_city"] = city_id
    row["org_city_code"] = city_code
    return actor_from_row(row, client_addr)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    actor: Actor


async def authenticate(username: str, password: str, client_addr: str = "") -> Actor:
    """Check a username and password; after five failures the account is refused for 15 minutes."""
    username = (username or "").strip()
    row = await User.select(User.id, User.password_hash, User.active, User.failed_logins,
                            User.locked_until).where(User.username == username).first()
    now = utcnow()
    if row is None or not row["active"]:
        _verify(_DUMMY_HASH, password)
        raise NotAuthenticated("用户名或密码错误")
    if row["locked_until"] and row["locked_until"] > now:
        until = to_local(row["locked_until"])
        raise NotAuthenticated(
            f"连续{MAX_FAILURES}次密码错误，账户已暂时锁定，请于 {until:%H:%M} 之后再试",
            code="account_locked",
        )
    if not _verify(row["password_hash"], password):
        failures = row["failed_logins"] + 1
        locked_until = now + LOCKOUT if failures >= MAX_FAILURES else None
        async with db.transaction():
            await User.update(
                {User.failed_logins: 0 if locked_until else failures, User.locked_until: locked_until}
            ).where(User.id == row["id"])
            actor = Actor(user_id=row["id"], username=username, role="", client_addr=client_addr)
            await audit.record(actor, "login.failed", "user", row["id"], after={"failures": failures},
                               city_code="")
        if locked_until:
            raise NotAuthenticated(
                f"连续{MAX_FAILURES}次密码错误，账户已暂时锁定15分钟，请于 {to_local(locked_until):%H:%M} 之后再试",
                code="account_locked",
            )
        raise NotAuthenticated("用户名或密码错误")
    if _hasher.check_needs_rehash(row["password_hash"]):
        await User.update({User.password_hash: hash_password(password)}).where(User.id == row["id"])
    await User.update({User.failed_logins: 0, User.locked_until: None, User.last_login_at: now}).where(
        User.id == row["id"]
    )
    actor = await _actor_for_user_id(row["id"], client_addr)
    if actor is None:
        raise NotAuthenticated("用户名或密码错误")
    return actor


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def issue_token(actor: Actor, kind: str, hours: int) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=hours)
    async with db.transaction():
        await AuthToken.insert(
            AuthToken(token_hash=hash_token(token), user=actor.user_id, kind=kind,
                      expires_at=expires_at, client_addr=actor.client_addr[:64])
        )
        await audit.record(actor, f"{kind}.issued" if kind == "api" else "login", "user", actor.user_id)
    return IssuedToken(token=token, expires_at=expires_at, actor=actor)


# Every authenticated request resolves its token: one query from the token's hash to the user and
# the city their organisation sits in (their own city, or their institution's).
_ACTOR_SQL = (
    "SELECT u.id AS id, u.username AS username, u.display_name AS display_name, u.role AS role, "
    "u.institution AS institution, u.locale AS locale, u.active AS active, t.expires_at AS expires_at, "
    "COALESCE(uc.id, ic.id) AS org_city, COALESCE(uc.code, ic.code) AS org_city_code "
    "FROM auth_token t JOIN app_user u ON u.id = t.\"user\" "
    "LEFT JOIN city uc ON uc.id = u.city "
    "LEFT JOIN institution i ON i.id = u.institution LEFT JOIN city ic ON ic.id = i.city "
    "WHERE t.token_hash = {} AND t.kind = {}"
)


async def actor_for_token(token: str, kind: str, client_addr: str = "") -> Actor | None:
    """The actor a session cookie or bearer token stands for, or ``None`` if unknown or expired."""
    if not token or len(token) > 200:
        return None
    rows = await AuthToken.raw(_ACTOR_SQL, hash_token(token), kind)
    if not rows:
        return None
    row = rows[0]
    expires_at = row["expires_at"]
    if isinstance(expires_at, str):  # SQLite hands raw queries back as text
        expires_at = datetime.fromisoformat(expires_at)
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= utcnow() or not row["active"]:
        return None
    return actor_from_row(row, client_addr)


async def revoke_token(token: str, actor: Actor | None = None) -> None:
    async with db.transaction():
        await AuthToken.delete().where(AuthToken.token_hash == hash_token(token))
        if actor is not None:
            await audit.record(actor, "logout", "user", actor.user_id)


async def purge_expired_tokens() -> int:
    expired = await AuthToken.count().where(AuthToken.expires_at <= utcnow())
    await AuthToken.delete().where(AuthToken.expires_at <= utcnow())
    return expired


async def create_user(
    *,
    username: str,
    password: str,
    role: str,
    org: str = "",
    display_name: str = "",
    email: str = "",
    actor: Actor = SYSTEM,
) -> int:
    """Create a user of the province, a city (``org`` = city code) or an institution
    (``org`` = its credit code or id)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("用户名不能为空，且不超过64个字符", fields={"username": "用户名无效"})
    validate_password(password)
    city_id = institution_id = None
    if role == "city":
        city = await City.select(City.id).where(City.code == org).first()
        if city is None:
            raise Invalid(f"没有代码为 {org} 的城市", fields={"org": "城市代码不存在"})
        city_id = city["id"]
    elif role == "institution":
        condition = Institution.credit_code == org.upper()
        if org.isdigit():
            condition = Institution.id == int(org)
        inst = await Institution.select(Institution.id).where(condition).first()
        if inst is None:
            raise Invalid(f"没有机构 {org}", fields={"org": "机构不存在"})
        institution_id = inst["id"]
    elif role != "province":
        raise Invalid("角色应为 province、city 或 institution", fields={"role": "角色无效"})
    async with db.transaction():
        if await User.exists().where(User.username == username):
            raise Conflict(f"用户名 {username} 已存在", fields={"username": "已存在"})
        row = await User.insert(
            User(username=username, password_hash=hash_password(password), role=role, city=city_id,
                 institution=institution_id, display_name=display_name or username, email=email)
        ).returning(User.id)
        user_id = row[0]["id"]
        await audit.record(actor, "user.create", "user", user_id,
                           after={"username": username, "role": role, "org": org})
    return user_id
