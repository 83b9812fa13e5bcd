"""Certificates on the database: issue all passed (idempotent), numbering sequential per year and
city and gap-free under two concurrent OS processes, revocation, verification, documents."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time

import pytest
from docx import Document

from tests.certificates_factories import assessed_cohort, ended_cohort, set_status
from tests.factories import make_user
from training.documents import pdf
from training.errors import Conflict, Forbidden, Invalid, NotFound
from training.rules import certificates as rules
from training.rules.clock import today_in_china
from training.services import certificates
from training.settings import PROJECT_ROOT
from training.tables import AuditEvent, Certificate, CertificateCounter


async def test_issue_all_passed_numbers_them_in_sequence_and_is_idempotent(database):
    cohort = await assessed_cohort(passed=3, failed=1)
    outcome = await certificates.issue_all(cohort["actor"], cohort["id"])
    year = today_in_china().year
    assert outcome.issued == [f"DTE-{year}-370100-{n:05d}" for n in (1, 2, 3)]
    again = await certificates.issue_all(cohort["actor"], cohort["id"])
    assert again.issued == [] and again.already == 3 and "均已发证" in again.message
    assert await Certificate.count() == 3
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.issue") == 3
    second = await assessed_cohort(passed=2, institution_id=cohort["institution_id"])
    assert (await certificates.issue_all(cohort["actor"], second["id"])).issued[-1].endswith("-00005")
    other_city = await assessed_cohort("370200", passed=1)
    assert (await certificates.issue_all(other_city["actor"], other_city["id"])).issued == [
        f"DTE-{year}-370200-00001"]


async def test_certificate_carries_hours_occupation_level_and_a_random_code(database):
    cohort = await assessed_cohort(passed=2)
    await certificates.issue_all(cohort["actor"], cohort["id"])
    rows = await Certificate.select().order_by(Certificate.sequence)
    assert all(r["hours"] == 128 and r["level"] == "junior" and r["status"] == "valid" for r in rows)
    codes = [r["verification_code"] for r in rows]
    assert len(set(codes)) == 2 and all(rules.normalise_code(c) == c for c in codes)
    assert rules.code_bits() >= 60


async def test_issuing_before_assessment_is_refused(database):
    cohort = await ended_cohort(eligible=2)
    with pytest.raises(Conflict, match="尚未完成结业考核"):
        await certificates.issue_all(cohort["actor"], cohort["id"])
    assert await Certificate.count() == 0 and await CertificateCounter.count() == 0


async def test_issuing_with_nobody_passed_is_refused(database):
    cohort = await assessed_cohort(passed=0, failed=2)
    with pytest.raises(Conflict, match="没有考核合格"):
        await certificates.issue_all(cohort["actor"], cohort["id"])


async def test_only_the_institution_issues_and_only_its_own(database):
    cohort = await assessed_cohort(passed=1)
    with pytest.raises(Forbidden):
        await certificates.issue_all(await make_user("city", "370100"), cohort["id"])
    stranger = await ended_cohort("370200", eligible=0, ineligible=0)
    with pytest.raises(NotFound):
        await certificates.issue_all(stranger["actor"], cohort["id"])


async def test_revoke_with_a_reason_once_and_never_delete(database):
    cohort = await assessed_cohort(passed=2)
    number = (await certificates.issue_all(cohort["actor"], cohort["id"])).issued[0]
    with pytest.raises(Invalid):
        await certificates.revoke(cohort["actor"], number, "  ")
    revoked = await certificates.revoke(cohort["actor"], number, "考核成绩弄虚作假")
    assert revoked["status"] == "revoked" and revoked["revoke_reason"] == "考核成绩弄虚作假"
    with pytest.raises(Conflict, match="不能重复撤销"):
        await certificates.revoke(cohort["actor"], number, "再次撤销的理由")
    with pytest.raises(Conflict):
        await certificates.revoke(await make_user("province"), number, "省厅撤销的理由")
    assert await Certificate.count() == 2
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.revoke") == 1
    other = (await Certificate.select(Certificate.number).where(Certificate.number != number).first())["number"]
    with pytest.raises(Forbidden):
        await certificates.revoke(await make_user("city", "370100"), other, "市局无权撤销")
    with pytest.raises(NotFound):
        await certificates.revoke(await make_user("city", "370200"), other, "外市无权撤销")
    assert (await certificates.revoke(await make_user("province"), other, "省厅核查撤销"))["status"] == "revoked"


async def test_verification_by_code_and_by_number_and_name(database):
    cohort = await assessed_cohort(passed=1)
    number = (await certificates.issue_all(cohort["actor"], cohort["id"])).issued[0]
    row = await Certificate.select(Certificate.verification_code, Certificate.trainee.name.as_alias("name")).first()
    view = await certificates.verify(row["verification_code"].lower())
    assert view["valid"] and view["number"] == number and view["hours"] == 128
    assert view["name"] == rules.mask_name(row["name"]) and "*" in view["id_masked"]
    assert (await certificates.verify_by_number(number, row["name"]))["number"] == number
    with pytest.raises(NotFound):
        await certificates.verify_by_number(number, "别人")
    await certificates.revoke(cohort["actor"], number, "证书信息有误")
    revoked = await certificates.verify(row["verification_code"])
    assert not revoked["valid"] and revoked["revoked_on"] == today_in_china()


@pytest.mark.parametrize("code", ["", "x", "'; DROP TABLE certificate;--", "ABCDEFGHJKLMNPQ0", "../../etc/passwd",
                                  "A" * 5000, "ＡＢＣＤ", "%00", "ABCDEFGHJKLMNPQRS"])
async def test_a_verification_code_with_odd_characters_is_simply_not_found(database, code):
    with pytest.raises(NotFound, match="未查到"):
        await certificates.verify(code)


async def test_word_document_holds_number_name_and_qr_code(database):
    cohort = await assessed_cohort(passed=1)
    number = (await certificates.issue_all(cohort["actor"], cohort["id"])).issued[0]
    cert, content = await certificates.document_docx(cohort["actor"], number, "https://px.example.gov.cn")
    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells)
    assert number in text and cert["name"] in text and cert["id_masked"] in text
    assert f"https://px.example.gov.cn/verify/{cert['verification_code']}" in text
    images = [p for p in document.part.package.parts if p.content_type == "image/png"]
    assert images and images[0].blob[:8] == b"\x89PNG\r\n\x1a\n"
    eastasia = document.element.xpath("//w:rFonts/@w:eastAsia")
    assert "宋体" in eastasia and "黑体" in eastasia


@pytest.mark.skipif(pdf.soffice() is None, reason="LibreOffice is not installed")
async def test_pdf_is_a_real_pdf(database):
    cohort = await assessed_cohort(passed=1)
    number = (await certificates.issue_all(cohort["actor"], cohort["id"])).issued[0]
    _, content = await certificates.document_pdf(cohort["actor"], number, "http://127.0.0.1:8000")
    assert content.startswith(b"%PDF")


async def test_two_processes_issuing_200_certificates_get_200_distinct_gap_free_numbers(database):
    """Eight cohorts in one city, 25 passed trainees each; two OS processes issue four cohorts
    each, all at the same moment (every cohort in its own concurrent transaction)."""
    cohorts = [await assessed_cohort(passed=25) for _ in range(8)]
    start_at = time.time() + 2.5
    env = {**os.environ, "TRAINING_DATABASE_URL": database.database.url, "TRAINING_DATA_DIR": str(database.data_dir),
           "TRAINING_SECRET_KEY": database.secret_key, "TRAINING_SCHEDULER": "0"}

    async def worker(part: list[dict]) -> list[str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.certificates_factories", "issue", str(start_at),
            *(f"{c['id']}:{c['institution_id']}" for c in part),
            cwd=str(PROJECT_ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=240)
        assert process.returncode == 0, err.decode()[-3000:]
        return json.loads(out)

    first, second = await asyncio.gather(worker(cohorts[0::2]), worker(cohorts[1::2]))
    assert len(first) == len(second) == 100
    numbers = first + second
    year = today_in_china().year
    assert len(set(numbers)) == 200
    assert sorted(numbers) == [f"DTE-{year}-370100-{n:05d}" for n in range(1, 201)]
    stored = await Certificate.select(Certificate.sequence).order_by(Certificate.sequence)
    assert [r["sequence"] for r in stored] == list(range(1, 201))
    counter = await CertificateCounter.select().first()
    assert counter["last_sequence"] == 200
    # each cohort's certificates are consecutive: one allocation per issuing transaction
    for cohort in cohorts:
        seqs = [r["sequence"] for r in await Certificate.select(Certificate.sequence).where(
            Certificate.cohort == cohort["id"]).order_by(Certificate.sequence)]
        assert seqs == list(range(seqs[0], seqs[0] + 25))


async def test_issue_after_filing_is_refused(database):
    cohort = await assessed_cohort(passed=1)
    await set_status(cohort["id"], "filed")
    with pytest.raises(Conflict, match="已备案"):
        await certificates.issue_all(cohort["actor"], cohort["id"])
