"""Public verification: no login, masked holder, valid or revoked, plain 404 for odd codes, and
the rate limit per client address."""

from __future__ import annotations

import pytest

from tests.certificates_factories import assessed_cohort
from tests.factories import bearer
from training.rules.certificates import format_code, mask_name
from training.services import certificates
from training.tables import Certificate


async def _issued() -> dict:
    cohort = await assessed_cohort(passed=1)
    await certificates.issue_all(cohort["actor"], cohort["id"])
    row = await Certificate.select(Certificate.number, Certificate.verification_code,
                                   Certificate.trainee.name.as_alias("name"),
                                   Certificate.trainee.id_number.as_alias("id_number")).first()
    return {**row, "cohort": cohort}


async def test_the_qr_page_shows_a_masked_holder_without_login(client):
    cert = await _issued()
    page = await client.get(f"/verify/{cert['verification_code']}")
    assert page.status_code == 200 and "证书有效" in page.text
    assert mask_name(cert["name"]) in page.text and cert["name"] not in page.text
    assert cert["id_number"] not in page.text and cert["id_number"][:4] + "*" in page.text
    assert 'name="viewport"' in page.text
    api = await client.get(f"/api/v1/verify/{cert['verification_code']}")
    assert api.status_code == 200 and api.json()["valid"] and api.json()["number"] == cert["number"]
    assert cert["id_number"] not in api.text and "verification_code" not in api.json()
    grouped = await client.get(f"/verify/{format_code(cert['verification_code']).lower()}")
    assert grouped.status_code == 200


async def test_a_revoked_certificate_shows_as_revoked_with_its_date(client):
    cert = await _issued()
    await certificates.revoke(cert["cohort"]["actor"], cert["number"], "培训记录弄虚作假")
    page = await client.get(f"/verify/{cert['verification_code']}")
    assert "证书已撤销" in page.text and "撤销日期" in page.text
    api = (await client.get(f"/api/v1/verify/{cert['verification_code']}")).json()
    assert api["valid"] is False and api["status"] == "revoked" and api["revoked_on"]


async def test_the_form_takes_number_and_full_name(client):
    cert = await _issued()
    assert "持证人姓名" in (await client.get("/verify")).text
    found = await client.get("/verify", params={"number": cert["number"].lower(), "name": cert["name"]})
    assert found.status_code == 200 and cert["number"] in found.text
    wrong = await client.get("/verify", params={"number": cert["number"], "name": "另一个人"})
    assert wrong.status_code == 404 and "未查到该证书" in wrong.text


@pytest.mark.parametrize("code", ["nope", "ABCDEFGHJKLMNPQR", "<script>alert(1)</script>", "%27%20OR%201=1--",
                                  "ＡＢＣ", "0O1I0O1I0O1I0O1I", "x" * 300])
async def test_unknown_or_odd_codes_are_a_plain_404(client, code):
    page = await client.get(f"/verify/{code}")
    assert page.status_code == 404 and "<script>alert" not in page.text
    api = await client.get(f"/api/v1/verify/{code}")
    assert api.status_code == 404 and api.json()["error"] == "not_found"


async def test_rate_limit_per_client_address(client):
    cert = await _issued()
    statuses = [(await client.get(f"/api/v1/verify/{cert['verification_code']}")).status_code for _ in range(30)]
    assert set(statuses) == {200}
    limited = await client.get(f"/api/v1/verify/{cert['verification_code']}")
    assert limited.status_code == 429 and limited.json()["error"] == "too_many_requests"
    page = await client.get(f"/verify/{cert['verification_code']}")
    assert page.status_code == 429 and "请求过于频繁" in page.text
    # signed-in work elsewhere is not limited by it
    headers = await bearer(client, cert["cohort"]["actor"].username)
    assert (await client.get(f"/api/v1/cohorts/{cert['cohort']['id']}/certificates", headers=headers)).status_code == 200
