"""The web shell: sign-in, tokens, reference data, the health check and the error shapes."""

from __future__ import annotations

from tests.factories import PASSWORD, bearer, login, make_institution, make_user


async def test_cities_lists_the_sixteen_cities(client):
    await make_user("province", username="prov")
    response = await client.get("/api/v1/cities", headers=await bearer(client, "prov"))
    assert response.status_code == 200
    codes = [c["code"] for c in response.json()]
    assert len(codes) == 16 and codes[0] == "370100" and "371700" in codes


async def test_occupations_carry_illustrative_standards(client):
    await make_user("province", username="prov")
    body = (await client.get("/api/v1/occupations", headers=await bearer(client, "prov"))).json()
    assert len(body) == 10
    assert body[0]["levels"] == ["junior", "intermediate", "senior"]
    assert all(s["illustrative"] for s in body[0]["standards"])


async def test_api_without_token_is_401_json(client):
    response = await client.get("/api/v1/cities")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert set(response.json()) >= {"error", "detail", "fields"}


async def test_api_rejects_unknown_token(client):
    response = await client.get("/api/v1/cities", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


async def test_api_does_not_accept_the_session_cookie(client):
    await make_user("province", username="prov")
    await login(client, "prov")
    assert (await client.get("/api/v1/cities")).status_code == 401


async def test_token_with_wrong_password_is_401(client):
    await make_user("province", username="prov")
    response = await client.post("/api/v1/auth/token", json={"username": "prov", "password": "nope-nope-nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "用户名或密码错误"


async def test_malformed_json_is_400_json(client):
    response = await client.post("/api/v1/auth/token", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_unknown_api_route_is_404_json(client):
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_unknown_page_is_404_in_chinese(client):
    response = await client.get("/nothing-here")
    assert response.status_code == 404
    assert "页面或记录不存在" in response.text


async def test_pages_redirect_to_login(client):
    response = await client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login")


async def test_login_without_csrf_token_is_refused(client):
    await make_user("province", username="prov")
    await client.get("/login")
    response = await client.post("/login", data={"username": "prov", "password": PASSWORD},
                                 follow_redirects=False)
    assert response.status_code == 403
    assert "training_session" not in response.cookies


async def test_login_sets_httponly_session_cookie(client):
    await make_user("province", username="prov")
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "prov", "password": PASSWORD,
                        "_csrf_token": client.cookies["csrftoken"]}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "training_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


async def test_login_rejects_offsite_next(client):
    await make_user("province", username="prov")
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "prov", "password": PASSWORD, "next": "//evil.example/",
                        "_csrf_token": client.cookies["csrftoken"]}, follow_redirects=False)
    assert response.headers["location"] == "/"


async def test_wrong_password_page_says_so_in_chinese(client):
    await make_user("province", username="prov")
    await client.get("/login")
    response = await client.post("/login", data={"username": "prov", "password": "wrong-password",
                                                 "_csrf_token": client.cookies["csrftoken"]})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


async def test_logout_ends_the_session(client):
    await make_user("province", username="prov")
    await login(client, "prov")
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    response = await client.post("/logout", headers={"x-csrftoken": client.cookies["csrftoken"]},
                                 follow_redirects=False)
    assert response.status_code == 303
    client.cookies.delete("training_session")
    assert (await client.get("/", follow_redirects=False)).status_code != 200


async def test_home_page_shows_counts_per_role(client):
    institution_id = await make_institution("370100")
    await make_user("institution", org=str(institution_id), username="clerk")
    await login(client, "clerk")
    response = await client.get("/")
    assert response.status_code == 200
    assert "培训班状态" in response.text and "培训机构" in response.text


async def test_english_switch(client):
    await make_user("province", username="prov")
    await login(client, "prov")
    await client.get("/lang/en?next=/")
    response = await client.get("/")
    assert 'lang="en"' in response.text
    assert "Sign out" in response.text


async def test_healthz_checks_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_openapi_schema_lists_the_api(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/cities" in paths and "/api/v1/auth/token" in paths
