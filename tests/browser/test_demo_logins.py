"""Every demo login printed by ``make run`` works in a real browser and lands on its home page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from training.demo import DEMO_LOGINS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(live_server):
    live_server.cli("demo")
    return live_server


@pytest.mark.parametrize("login", DEMO_LOGINS, ids=lambda login: login.username)
def test_demo_login_reaches_its_home_page(page, demo_server, login):
    sign_in(page, demo_server, login.username, login.password)
    assert page.locator("h1").inner_text().startswith("工作台")
    tiles = page.locator(".tile .n").all_inner_texts()
    assert any(int(n) > 0 for n in tiles), tiles  # real counts from the demo province
    if login.role == "institution":
        page.click("nav.mainnav >> text=培训班")
        assert page.locator("table").count() >= 1
