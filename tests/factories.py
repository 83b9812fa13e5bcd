"""Builders for test data on the real database, and sign-in helpers for the test client.

Valid identity numbers are generated with the same check-character functions the service uses,
so a test states only what matters to it.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from httpx import AsyncClient as AsyncTestClient

from training.access import Actor
from training.rules.identity import credit_check_character, id_check_character
from training.services import accounts
from training.services.accounts import _actor_for_user_id
from training.tables import City, Institution

PASSWORD = "correct-horse-battery"
_serial = itertools.count(1)


def credit_code(seed: int | None = None) -> str:
    """A valid unified social credit code (GB 32100)."""
    n = next(_serial) if seed is None else seed
    body = f"91370100MA{n:07d}"[:17]
    return body + credit_check_character(body)


def id_number(born: date = date(1990, 5, 17), region: str = "370102", seq: int | None = None,
              male: bool = True) -> str:
    """A valid 18-digit resident ID number (GB 11643)."""
    n = next(_serial) if seq is None else seq
    order = (n * 2 + (1 if male else 0)) % 1000
    body = f"{region}{born:%Y%m%d}{order:03d}"
    return body + id_check_character(body)


async def city_id(code: str = "370100") -> int:
    row = await City.select(City.id).where(City.code == code).first()
    assert row, f"no city {code}"
    return row["id"]


async def make_institution(city_code: str = "370100", **values: Any) -> int:
    row = await Institution.insert(Institution(
        name=values.pop("name", f"测试培训学院{next(_serial)}"),
        credit_code=values.pop("credit_code", credit_code()),
        city=await city_id(city_code),
        **values,
    )).returning(Institution.id)
    return row[0]["id"]


async def make_user(role: str, org: str = "", username: str | None = None) -> Actor:
    """A user of ``role``: ``org`` is the city code or the institution id."""
    username = username or f"{role}{next(_serial)}"
    user_id = await accounts.create_user(username=username, password=PASSWORD, role=role, org=org)
    actor = await _actor_for_user_id(user_id, "127.0.0.1")
    assert actor is not None
    return actor


async def login(client: AsyncTestClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login page, as a browser would (CSRF token included)."""
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf(client: AsyncTestClient) -> dict[str, str]:
    """Headers carrying the CSRF token for an htmx-style POST from a signed-in page."""
    return {"x-csrftoken": client.cookies.get("csrftoken", "")}


async def bearer(client: AsyncTestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
