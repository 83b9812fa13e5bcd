"""A person signs in through a real browser, sees their home page, switches language, signs out."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
PASSWORD = "browser-password-1"


@pytest.fixture(scope="module")
def province_user(live_server):
    live_server.cli("user", "create", "--role", "province", "--username", "prov-browser", "--name", "省厅专管员",
                    stdin=PASSWORD + "\n")
    return "prov-browser"


def test_sign_in_home_language_and_sign_out(page, live_server, province_user):
    sign_in(page, live_server, province_user, PASSWORD)
    assert page.locator("h1").inner_text().startswith("工作台")
    assert "省厅专管员" in page.locator(".who").inner_text()
    page.click("text=English")
    assert page.locator("h1").inner_text().startswith("Workbench")
    page.click("text=中文")
    page.click("button:has-text('退出')")
    page.wait_for_url(f"{live_server.url}/login")
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login")


def test_wrong_password_is_explained(page, live_server, province_user):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", province_user)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
