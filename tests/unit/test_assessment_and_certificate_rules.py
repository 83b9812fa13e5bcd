"""Pure rules of the assessment and the certificate, and the Word certificate, without a database."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document

from training.documents import certificate_document
from training.rules import assessment as a
from training.rules import certificates as c

TODAY = date(2026, 7, 1)


@pytest.mark.parametrize("value", [-1, 101, 1000, 59.5, "80", True, float("nan")])
def test_scores_outside_0_to_100_or_not_whole_are_faults(value):
    assert a.score_fault(value)


@pytest.mark.parametrize("value", [None, 0, 60, 100, 75.0])
def test_scores_0_to_100_are_fine(value):
    assert a.score_fault(value) is None


@pytest.mark.parametrize("text", ["abc", "-5", "100.5", "101", "", "nan"])
def test_parse_score_refuses_with_a_reason(text):
    with pytest.raises(ValueError, match="成绩"):
        a.parse_score(text)


def test_parse_score_accepts_spreadsheet_numbers():
    assert a.parse_score(" 85 ") == 85 and a.parse_score("90.0") == 90


def test_pass_needs_every_score_of_the_form_at_its_mark():
    marks = a.PassMarks(theory=60, practice=70)
    assert a.passed(a.Entry(1, 60, 70), "both", marks)
    assert not a.passed(a.Entry(1, 60, 69), "both", marks)
    assert a.passed(a.Entry(1, 60), "written", marks)
    assert not a.passed(a.Entry(1, absent=True), "written", marks)
    assert a.passed(a.Entry(1, None, 70), "practical", marks)


def test_entry_faults_follow_the_form():
    assert set(a.entry_faults(a.Entry(1, 80), "both")) == {"practice_score"}
    assert set(a.entry_faults(a.Entry(1, 80, 80), "written")) == {"practice_score"}
    assert set(a.entry_faults(a.Entry(1, 80, absent=True), "both")) == {"theory_score"}
    assert a.entry_faults(a.Entry(1), "both") == {}


def test_schedule_only_once_training_has_ended():
    end = date(2026, 6, 30)
    assert a.schedule_refusal("training_ended", end, TODAY) is None
    assert a.schedule_refusal("in_training", end, TODAY) is None and a.needs_ending("in_training", end, TODAY)
    assert "尚未结束" in a.schedule_refusal("in_training", TODAY, TODAY)
    assert a.schedule_refusal("draft", end, TODAY)
    assert "备案" in a.schedule_refusal("filed", end, TODAY)


def test_one_retake_and_never_a_third():
    assert a.next_attempt_refusal(2, True, 3)
    assert a.next_attempt_refusal(1, False, 0)
    assert a.next_attempt_refusal(1, True, 0)
    assert a.next_attempt_refusal(1, True, 1) is None
    assert a.enrollment_outcome(1, False) == "enrolled"
    assert a.enrollment_outcome(2, False) == "failed"
    assert a.enrollment_outcome(2, True) == "completed"


def test_certificate_number_shape_and_sequences():
    assert c.certificate_number(2026, "370100", 42) == "DTE-2026-370100-00042"
    assert c.parse_number("dte-2026-370100-00042") == (2026, "370100", 42)
    assert c.parse_number("DTE-2026-3701-00042") is None
    assert c.sequences(10, 3) == [8, 9, 10]
    with pytest.raises(ValueError, match="starts at 1"):
        c.certificate_number(2026, "370100", 0)


def test_verification_code_is_random_unambiguous_and_at_least_60_bits():
    codes = {c.new_verification_code() for _ in range(2000)}
    assert len(codes) == 2000 and c.code_bits() >= 60
    assert all(not set(code) & set("01IO") for code in codes)
    code = codes.pop()
    assert c.normalise_code(c.format_code(code).lower()) == code


@pytest.mark.parametrize("text", ["", "ABC", "ABCDEFGHJKLMNPQ1", "ABCDEFGHJKLMNPQR'", None, 42, "Ａ" * 16, "A" * 100])
def test_odd_codes_do_not_normalise(text):
    assert c.normalise_code(text) is None


@pytest.mark.parametrize(("name", "masked"), [("张三明", "张*明"), ("李四", "李*"), ("欧阳小明", "欧**明"), ("王", "王")])
def test_names_are_partly_masked(name, masked):
    assert c.mask_name(name) == masked


def test_revocation_needs_a_reason():
    assert c.reason_fault("") and c.reason_fault("错") and c.reason_fault("x" * 501)
    assert c.reason_fault("学员信息有误") is None


def test_word_certificate_has_number_name_and_the_qr_of_the_verify_url():
    cert = {"number": "DTE-2026-370100-00001", "verification_code": "ABCDEFGHJKLMNPQR", "name": "张三明",
            "id_masked": "3701**********0011", "occupation_name": "人工智能工程技术人员", "level_label": "初级",
            "hours": 128.0, "institution_name": "济南培训学院", "issue_date": date(2026, 7, 1),
            "planned_start": date(2026, 5, 1), "planned_end": date(2026, 6, 30), "status": "valid"}
    url = c.verify_url("https://px.example.gov.cn/", cert["verification_code"])
    document = Document(io.BytesIO(certificate_document.build(cert, url)))
    text = "\n".join(p.text for p in document.paragraphs) + " ".join(
        cell.text for t in document.tables for r in t.rows for cell in r.cells)
    assert "张三明" in text and cert["number"] in text and url in text and "培训合格证书" in text
    pngs = [p.blob for p in document.part.package.parts if p.content_type == "image/png"]
    # the embedded picture is exactly the QR code of the verification address
    assert pngs == [certificate_document.qr_png("https://px.example.gov.cn/verify/ABCDEFGHJKLMNPQR")]
