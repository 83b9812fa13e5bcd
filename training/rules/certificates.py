"""Training certificate (培训合格证书) rules: the number, the verification code, what the public sees.

Number ``DTE-<year>-<city code>-<5-digit sequence>``: unique in the province, sequential within
year and city (the sequence comes from the certificate counter, allocated in the issuing
transaction). The verification code is random (80 bits) in an alphabet without look-alike
characters, so it can be read aloud or typed from paper.
"""

from __future__ import annotations

import re
import secrets

from training.rules.identity import mask_id_number

PREFIX = "DTE"
# Crockford-style base32 without 0/O and 1/I: 32 symbols, 5 bits each.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16  # 80 bits
_CODE_SHAPE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
_NUMBER_SHAPE = re.compile(r"^DTE-(\d{4})-(\d{6})-(\d{5,})$")
MIN_REASON = 4
MAX_REASON = 500


def certificate_number(year: int, city_code: str, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{PREFIX}-{year:04d}-{city_code}-{sequence:05d}"


def parse_number(text: str) -> tuple[int, str, int] | None:
    """(year, city code, sequence) of a well-formed number; ``None`` otherwise."""
    match = _NUMBER_SHAPE.match((text or "").strip().upper())
    if not match:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


def sequences(last_after: int, count: int) -> list[int]:
    """The ``count`` sequences just reserved when the counter now reads ``last_after``."""
    return list(range(last_after - count + 1, last_after + 1))


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_bits() -> float:
    import math

    return CODE_LENGTH * math.log2(len(CODE_ALPHABET))


def normalise_code(text: str) -> str | None:
    """The stored form of a typed or scanned code (upper case, no spaces or dashes); ``None``
    when it cannot be a code at all (odd characters, wrong length) — answered as not found."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    code = re.sub(r"[\s\-]", "", text).upper()
    return code if _CODE_SHAPE.match(code) else None


def format_code(code: str) -> str:
    """``ABCD-EFGH-JKLM-NPQR`` for reading off paper."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def mask_name(name: str) -> str:
    """张*明 / 张* / 欧阳**: the family name and the last character, the middle hidden."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def public_id(id_number: str) -> str:
    return mask_id_number(id_number or "")


def reason_fault(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        return f"请填写撤销理由（不少于{MIN_REASON}个字）"
    if len(text) > MAX_REASON:
        return f"撤销理由过长（最多{MAX_REASON}个字）"
    return None


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{code}"
