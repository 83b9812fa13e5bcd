"""Trainee registry (学员): one row per person keyed by the resident ID number; masked by default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from training import db
from training.access import Actor, ensure_visible, require, restrict
from training.errors import Invalid, NotFound
from training.rules.clock import today_in_china
from training.rules.identity import (
    InvalidIdentity,
    ResidentId,
    mask_id_number,
    parse_credit_code,
    parse_phone,
    parse_resident_id,
)
from training.rules.levels import EDUCATION_LEVELS
from training.services import audit
from training.tables import Trainee

_YES = {"是", "y", "yes", "true", "1", "应届", "√"}
_NO = {"否", "n", "no", "false", "0", ""}


@dataclass(frozen=True, slots=True)
class TraineeInput:
    id_number: str
    name: str
    phone: str = ""
    education: str = ""
    employer: str = ""
    employer_credit_code: str = ""
    new_graduate: bool = False


@dataclass(frozen=True, slots=True)
class TraineeValues:
    """A validated person: what is stored, with what the ID number says about them."""

    identity: ResidentId
    name: str
    phone: str
    education: str
    employer: str
    employer_credit_code: str
    new_graduate: bool

    @property
    def id_number(self) -> str:
        return self.identity.number

    def columns(self) -> dict[str, Any]:
        return {
            "id_number": self.identity.number,
            "name": self.name,
            "sex": self.identity.sex,
            "birth_date": self.identity.birth_date,
            "phone": self.phone,
            "education": self.education,
            "employer": self.employer,
            "employer_credit_code": self.employer_credit_code,
            "new_graduate": self.new_graduate,
        }


# Parsers shared by the one-person form and the list import: each raises ValueError(Chinese reason).
def parse_id(text: str, today: date | None = None) -> ResidentId:
    return parse_resident_id(text, today or today_in_china())


def parse_name(text: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise ValueError("姓名不能为空")
    if len(name) > 64:
        raise ValueError("姓名过长（最多64个字符）")
    return name


def parse_education(text: str) -> str:
    value = (text or "").strip()
    if value and value not in EDUCATION_LEVELS:
        raise ValueError("学历应为：" + "、".join(EDUCATION_LEVELS))
    return value


def parse_optional_credit_code(text: str) -> str:
    return parse_credit_code(text) if (text or "").strip() else ""


def parse_optional_phone(text: str) -> str:
    return parse_phone(text) if (text or "").strip() else ""


def parse_yes_no(text: str) -> bool:
    value = (text or "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError("请填写“是”或“否”")


def validate(data: TraineeInput) -> TraineeValues:
    """Validate one person; every broken field is reported at once (Invalid, 422)."""
    faults: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "id_number": (parse_id, data.id_number),
        "name": (parse_name, data.name),
        "phone": (parse_optional_phone, data.phone),
        "education": (parse_education, data.education),
        "employer_credit_code": (parse_optional_credit_code, data.employer_credit_code),
    }
    for key, (parse, text) in checks.items():
        try:
            values[key] = parse(text)
        except (ValueError, InvalidIdentity) as exc:
            faults[key] = str(exc)
    employer = " ".join((data.employer or "").split())
    if len(employer) > 128:
        faults["employer"] = "工作单位名称过长（最多128个字符）"
    if faults:
        raise Invalid("学员信息有误，请按提示修改", fields=faults)
    return TraineeValues(
        identity=values["id_number"], name=values["name"], phone=values["phone"],
        education=values["education"], employer=employer,
        employer_credit_code=values["employer_credit_code"], new_graduate=bool(data.new_graduate),
    )


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """A trainee as shown anywhere: the ID number masked."""
    out = {k: v for k, v in row.items() if k != "id_number"}
    out["id_masked"] = mask_id_number(row.get("id_number", ""))
    return out


async def get_trainee(actor: Actor, trainee_id: int) -> dict[str, Any]:
    row = await restrict(Trainee.select(), Trainee, actor).where(Trainee.id == trainee_id).first()
    if row is None:
        raise NotFound("学员不存在，或不在您的管辖范围内")
    return public_view(row)


async def reveal_id_number(actor: Actor, trainee_id: int) -> str:
    """The whole ID number, for a role that needs it; every reveal is audited (never the number)."""
    require(actor, "trainee.full_id")
    await ensure_visible(Trainee, trainee_id, actor)
    async with db.transaction():
        row = await Trainee.select(Trainee.id_number, Trainee.name).where(Trainee.id == trainee_id).first()
        if row is None:
            raise NotFound("学员不存在")
        await audit.record(actor, "trainee.reveal_id", "trainee", trainee_id,
                           after={"name": row["name"], "masked": mask_id_number(row["id_number"])})
    return row["id_number"]
