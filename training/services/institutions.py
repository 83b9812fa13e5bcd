"""The provincial institution catalogue (培训机构目录): institutions, their approvals, and the list import.

The province writes; a city reads every institution (it works with all of them); an institution
reads itself. The spreadsheet import is all-or-nothing and idempotent by credit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from training import db
from training.access import Actor, require, require_on, restrict
from training.documents import tabular
from training.documents.tabular import Column
from training.errors import Conflict, ImportRejected, Invalid, NotFound, RowFault, StaleVersion
from training.rules import institutions as rules
from training.rules.clock import today_in_china, utcnow
from training.rules.identity import parse_credit_code, parse_phone
from training.rules.levels import LEVELS
from training.services import audit
from training.tables import Approval, City, Institution, Occupation

MAX_PAGE_SIZE = 200
IMPORT_MAX_ROWS = 100_000
_BATCH = 2_000
# Own fields of an institution: (key, label, column length)
OWN_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("name", "机构名称", 128),
    ("credit_code", "统一社会信用代码", 18),
    ("city", "所在城市", 6),
    ("address", "地址", 256),
    ("contact_person", "联系人", 64),
    ("phone", "联系电话", 32),
    ("email", "电子邮箱", 128),
)
_REQUIRED = frozenset({"name", "credit_code", "city", "address", "contact_person", "phone"})


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    approvals_created: int = 0
    approvals_updated: int = 0
    rows: int = 0
    created_codes: list[str] = field(default_factory=list)


def page_bounds(page: int | None, page_size: int | None, default_size: int = 50) -> tuple[int, int]:
    page = max(1, int(page or 1))
    if page > 1_000_000:
        raise Invalid("页码过大", fields={"page": "页码过大"})
    size = int(page_size or default_size)
    if size < 1 or size > MAX_PAGE_SIZE:
        raise Invalid(f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间", fields={"page_size": f"应在 1 到 {MAX_PAGE_SIZE} 之间"})
    return page, size


# --- reference lookups -------------------------------------------------------------------------


async def _cities() -> list[dict[str, Any]]:
    return await City.select(City.id, City.code, City.name).order_by(City.sort_order)


async def _occupations() -> list[dict[str, Any]]:
    return await Occupation.select(Occupation.id, Occupation.name).order_by(Occupation.sort_order)


def _city_lookup(cities: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By code, by full name (济南市) and by short name (济南)."""
    lookup: dict[str, dict[str, Any]] = {}
    for city in cities:
        lookup[city["code"]] = city
        lookup[city["name"]] = city
        lookup[city["name"].removesuffix("市")] = city
    return lookup


async def city_by_code(code: str) -> dict[str, Any] | None:
    return await City.select(City.id, City.code, City.name).where(City.code == code).first()


# --- reading -------------------------------------------------------------------------------------

_COLUMNS = (
    Institution.id,
    Institution.name,
    Institution.credit_code,
    Institution.city.id.as_alias("city_id"),
    Institution.city.code.as_alias("city_code"),
    Institution.city.name.as_alias("city_name"),
    Institution.address,
    Institution.contact_person,
    Institution.phone,
    Institution.email,
    Institution.status,
    Institution.status_reason,
    Institution.lock_version,
    Institution.created_at,
    Institution.updated_at,
)


def _contains(column: Any, text: str) -> Any:
    """Case-insensitive substring match; wildcard characters in the text are dropped, not interpreted."""
    pattern = "%" + text.replace("%", "").replace("_", "") + "%"
    return column.ilike(pattern) if db.is_postgres() else column.like(pattern)


async def list_institutions(
    actor: Actor,
    *,
    city: str | None = None,
    status: str | None = None,
    occupation: int | None = None,
    search: str | None = None,
    page: int | None = 1,
    page_size: int | None = 50,
) -> Page:
    """Institutions inside the actor's scope, filtered and paginated, each with its approvals."""
    page, page_size = page_bounds(page, page_size)
    conditions = []
    if city:
        conditions.append(Institution.city.code == city)
    if status:
        if status not in rules.STATUSES:
            raise Invalid("未知的机构状态", fields={"status": "应为 active、suspended 或 revoked"})
        conditions.append(Institution.status == status)
    if occupation:
        conditions.append(Institution.id.is_in(
            Approval.select(Approval.institution).where(
                (Approval.occupation == occupation) & (Approval.withdrawn == False)  # noqa: E712
            )
        ))
    text = (search or "").strip()
    if text:
        conditions.append(_contains(Institution.name, text) | _contains(Institution.credit_code, text.upper()))
    count = restrict(Institution.count(), Institution, actor)
    select = restrict(Institution.select(*_COLUMNS), Institution, actor)
    for condition in conditions:
        count = count.where(condition)
        select = select.where(condition)
    total = await count
    rows = await select.order_by(Institution.city.sort_order).order_by(Institution.name).order_by(
        Institution.id).limit(page_size).offset((page - 1) * page_size)
    approvals = await _approvals_for([r["id"] for r in rows])
    for row in rows:
        row["approvals"] = approvals.get(row["id"], [])
    return Page(rows, total, page, page_size)


async def _approvals_for(institution_ids: Sequence[int], *, current_only: bool = False) -> dict[int, list[dict[str, Any]]]:
    if not institution_ids:
        return {}
    query = Approval.select(
        Approval.id, Approval.institution, Approval.occupation.id.as_alias("occupation_id"),
        Approval.occupation.name.as_alias("occupation_name"), Approval.level, Approval.valid_from,
        Approval.valid_to, Approval.document_number, Approval.withdrawn,
    ).where(Approval.institution.is_in(list(institution_ids)))
    today = today_in_china()
    if current_only:
        query = query.where((Approval.withdrawn == False) & (Approval.valid_from <= today)  # noqa: E712
                            & (Approval.valid_to >= today))
    rows = await query.order_by(Approval.occupation.sort_order).order_by(Approval.id)
    order = list(LEVELS)
    rows.sort(key=lambda r: (r["institution"], order.index(r["level"]) if r["level"] in order else 9))
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        row["institution_id"] = row.pop("institution")
        row["current"] = rules.approval_current(row["valid_from"], row["valid_to"], row["withdrawn"], today)
        grouped.setdefault(row["institution_id"], []).append(row)
    for items in grouped.values():
        items.sort(key=lambda r: r["occupation_id"])
    return grouped


async def get_institution(actor: Actor, institution_id: int) -> dict[str, Any]:
    row = await restrict(Institution.select(*_COLUMNS).where(Institution.id == institution_id),
                         Institution, actor).first()
    if row is None:
        raise NotFound("机构不存在，或不在您的管辖范围内")
    row["approvals"] = (await _approvals_for([institution_id])).get(institution_id, [])
    return row


async def list_approvals(actor: Actor, institution_id: int) -> list[dict[str, Any]]:
    return (await get_institution(actor, institution_id))["approvals"]


# --- validation ----------------------------------------------------------------------------------


def _validate_fields(values: dict[str, Any], cities: dict[str, dict[str, Any]], *, partial: bool = False
                     ) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean the institution's own fields; ``partial``: only the keys present are checked."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, label, limit in OWN_FIELDS:
        if partial and key not in values:
            continue
        raw = values.get(key)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if key in _REQUIRED:
                errors[key] = f"请填写{label}"
            else:
                clean[key] = ""
            continue
        try:
            if key == "credit_code":
                clean[key] = parse_credit_code(text)
            elif key == "phone":
                clean[key] = parse_phone(text)
            elif key == "email":
                clean[key] = rules.parse_email(text)
            elif key == "city":
                city = cities.get(text)
                if city is None:
                    raise ValueError("未知的城市，应为山东省16个地市之一（名称或代码）")
                clean[key] = city["id"]
            else:
                clean[key] = rules.clean_text(text, limit)
        except ValueError as exc:
            errors[key] = str(exc)
    return clean, errors


async def _ensure_unique_code(credit_code: str, except_id: int | None = None) -> None:
    query = Institution.select(Institution.id, Institution.name).where(Institution.credit_code == credit_code)
    if except_id is not None:
        query = query.where(Institution.id != except_id)
    other = await query.first()
    if other is not None:
        message = f"该统一社会信用代码已被机构“{other['name']}”使用"
        raise Conflict("统一社会信用代码重复", fields={"credit_code": message}, code="duplicate_credit_code")


def _audit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("name", "credit_code", "city", "address", "contact_person", "phone", "email",
                                "status", "status_reason") if k in row}


async def _city_code_of(city_id: int) -> str:
    row = await City.select(City.code).where(City.id == city_id).first()
    return row["code"] if row else ""


# --- writing -------------------------------------------------------------------------------------


async def create_institution(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    require(actor, "institution.write")
    clean, errors = _validate_fields(values, _city_lookup(await _cities()))
    if errors:
        raise Invalid("请检查标出的字段", fields=errors)
    now = utcnow()
    async with db.transaction():
        await _ensure_unique_code(clean["credit_code"])
        rows = await Institution.insert(Institution(**clean, status="active", created_at=now, updated_at=now)
                                        ).returning(Institution.id)
        institution_id = rows[0]["id"]
        await audit.record(actor, "institution.create", "institution", institution_id, after=_audit_view(clean),
                           city_code=await _city_code_of(clean["city"]), institution_id=institution_id)
    return await get_institution(actor, institution_id)


async def _load_for_write(institution_id: int) -> dict[str, Any]:
    row = await Institution.select().where(Institution.id == institution_id).first()
    if row is None:
        raise NotFound("机构不存在，或不在您的管辖范围内")
    return row


async def _versioned_update(institution_id: int, lock_version: int, changes: dict[str, Any]) -> None:
    changes = {**changes, "lock_version": lock_version + 1, "updated_at": utcnow()}
    updated = await Institution.update({getattr(Institution, k): v for k, v in changes.items()}).where(
        (Institution.id == institution_id) & (Institution.lock_version == lock_version)
    ).returning(Institution.id)
    if not updated:
        raise StaleVersion("机构信息已被他人修改，请刷新后重试")


async def update_institution(actor: Actor, institution_id: int, values: dict[str, Any],
                             lock_version: int) -> dict[str, Any]:
    """Edit the institution's own fields; ``lock_version`` is the version the editor read."""
    await require_on(actor, "institution.write", Institution, institution_id)
    clean, errors = _validate_fields(values, _city_lookup(await _cities()), partial=True)
    if errors:
        raise Invalid("请检查标出的字段", fields=errors)
    async with db.transaction():
        current = await _load_for_write(institution_id)
        if current["lock_version"] != lock_version:
            raise StaleVersion("机构信息已被他人修改，请刷新后重试")
        if "credit_code" in clean and clean["credit_code"] != current["credit_code"]:
            await _ensure_unique_code(clean["credit_code"], except_id=institution_id)
        changes = {k: v for k, v in clean.items() if current[k] != v}
        if changes:
            await _versioned_update(institution_id, lock_version, changes)
            await audit.record(actor, "institution.update", "institution", institution_id,
                               before={k: current[k] for k in changes}, after=changes,
                               city_code=await _city_code_of(clean.get("city", current["city"])),
                               institution_id=institution_id)
    return await get_institution(actor, institution_id)


_STATUS_ACTIONS = {"suspended": "institution.suspend", "revoked": "institution.revoke",
                   "active": "institution.reinstate"}


async def change_status(actor: Actor, institution_id: int, status: str, reason: str,
                        lock_version: int | None = None) -> dict[str, Any]:
    """Suspend, revoke or reinstate, always with a reason. Revocation is final."""
    await require_on(actor, "institution.write", Institution, institution_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("请填写原因", fields={"reason": "暂停、撤销或恢复机构必须填写原因"})
    if len(reason) > 500:
        raise Invalid("原因过长", fields={"reason": "不能超过500个字"})
    async with db.transaction():
        current = await _load_for_write(institution_id)
        if lock_version is not None and current["lock_version"] != lock_version:
            raise StaleVersion("机构信息已被他人修改，请刷新后重试")
        refusal = rules.status_change_refusal(current["status"], status)
        if refusal:
            raise Conflict(refusal, fields={"status": refusal})
        await _versioned_update(institution_id, current["lock_version"],
                                {"status": status, "status_reason": reason})
        await audit.record(actor, _STATUS_ACTIONS[status], "institution", institution_id,
                           before={"status": current["status"], "status_reason": current["status_reason"]},
                           after={"status": status, "status_reason": reason},
                           city_code=await _city_code_of(current["city"]), institution_id=institution_id)
    return await get_institution(actor, institution_id)


async def suspend(actor: Actor, institution_id: int, reason: str, lock_version: int | None = None) -> dict[str, Any]:
    return await change_status(actor, institution_id, "suspended", reason, lock_version)


async def revoke(actor: Actor, institution_id: int, reason: str, lock_version: int | None = None) -> dict[str, Any]:
    return await change_status(actor, institution_id, "revoked", reason, lock_version)


async def reinstate(actor: Actor, institution_id: int, reason: str, lock_version: int | None = None) -> dict[str, Any]:
    return await change_status(actor, institution_id, "active", reason, lock_version)


# --- approvals -----------------------------------------------------------------------------------


def _as_date(value: Any, key: str, errors: dict[str, str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return rules.parse_date(str(value or ""))
    except ValueError as exc:
        errors[key] = str(exc) if value else "请填写日期"
        return None


async def grant_approval(actor: Actor, institution_id: int, *, occupation_id: Any, levels: Any,
                         valid_from: Any, valid_to: Any, document_number: Any) -> list[dict[str, Any]]:
    """Approve an institution for one occupation at one or more levels, for a period.

    One approval row per institution × occupation × level: granting again renews that row.
    """
    await require_on(actor, "approval.write", Institution, institution_id)
    errors: dict[str, str] = {}
    occupation = None
    with contextlib.suppress(TypeError, ValueError):
        occupation = await Occupation.select(Occupation.id, Occupation.name).where(
            Occupation.id == int(occupation_id)).first()
    if occupation is None:
        errors["occupation_id"] = "请选择核准职业"
    level_keys: list[str] = []
    try:
        level_keys = rules.parse_levels("、".join(levels) if isinstance(levels, list | tuple) else str(levels or ""))
    except ValueError as exc:
        errors["levels"] = str(exc)
    start = _as_date(valid_from, "valid_from", errors)
    end = _as_date(valid_to, "valid_to", errors)
    if start and end and (refusal := rules.period_refusal(start, end)):
        errors["valid_to"] = refusal
    number = " ".join(str(document_number or "").split())
    if not number:
        errors["document_number"] = "请填写核准文号"
    elif len(number) > 64:
        errors["document_number"] = "不能超过64个字"
    if errors:
        raise Invalid("请检查标出的字段", fields=errors)
    assert occupation is not None and start is not None and end is not None
    async with db.transaction():
        institution = await _load_for_write(institution_id)
        if institution["status"] == "revoked":
            raise Conflict("机构已撤销，不能再核准培训职业")
        existing = {
            r["level"]: r for r in await Approval.select().where(
                (Approval.institution == institution_id) & (Approval.occupation == occupation["id"])
                & Approval.level.is_in(level_keys)).order_by(Approval.id)
        }
        city_code = await _city_code_of(institution["city"])
        for level in level_keys:
            values = {"valid_from": start, "valid_to": end, "document_number": number, "withdrawn": False}
            before = existing.get(level)
            if before is None:
                rows = await Approval.insert(Approval(institution=institution_id, occupation=occupation["id"],
                                                      level=level, **values)).returning(Approval.id)
                approval_id, action, old = rows[0]["id"], "approval.grant", None
            else:
                old = {k: before[k] for k in values}
                if old == values:
                    continue
                approval_id, action = before["id"], "approval.renew"
                await Approval.update({getattr(Approval, k): v for k, v in values.items()}).where(
                    Approval.id == approval_id)
            await audit.record(actor, action, "approval", approval_id, before=old,
                               after={"occupation": occupation["name"], "level": level, **values},
                               city_code=city_code, institution_id=institution_id)
    return await list_approvals(actor, institution_id)


async def withdraw_approval(actor: Actor, institution_id: int, approval_id: int, reason: str) -> list[dict[str, Any]]:
    await require_on(actor, "approval.write", Institution, institution_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("请填写撤回原因", fields={"reason": "撤回核准必须填写原因"})
    async with db.transaction():
        row = await Approval.select().where(
            (Approval.id == approval_id) & (Approval.institution == institution_id)).first()
        if row is None:
            raise NotFound("核准记录不存在")
        if row["withdrawn"]:
            raise Conflict("该核准已撤回")
        await Approval.update({Approval.withdrawn: True}).where(Approval.id == approval_id)
        institution = await _load_for_write(institution_id)
        await audit.record(actor, "approval.withdraw", "approval", approval_id,
                           before={"withdrawn": False}, after={"withdrawn": True, "reason": reason},
                           city_code=await _city_code_of(institution["city"]), institution_id=institution_id)
    return await list_approvals(actor, institution_id)


# --- the public list -----------------------------------------------------------------------------


async def public_list(*, city: str | None = None, occupation: int | None = None, page: int | None = 1,
                      page_size: int | None = 50) -> Page:
    """Active institutions holding a current approval: what anyone may see without signing in."""
    page, page_size = page_bounds(page, page_size)
    today = today_in_china()
    current = (Approval.withdrawn == False) & (Approval.valid_from <= today) & (Approval.valid_to >= today)  # noqa: E712
    if occupation:
        current = current & (Approval.occupation == occupation)
    condition = (Institution.status == "active") & Institution.id.is_in(
        Approval.select(Approval.institution).where(current))
    if city:
        condition = condition & (Institution.city.code == city)
    total = await Institution.count().where(condition)
    rows = await Institution.select(
        Institution.id, Institution.name, Institution.city.code.as_alias("city_code"),
        Institution.city.name.as_alias("city_name"), Institution.address, Institution.contact_person,
        Institution.phone, Institution.email,
    ).where(condition).order_by(Institution.city.sort_order).order_by(Institution.name).order_by(
        Institution.id).limit(page_size).offset((page - 1) * page_size)
    approvals = await _approvals_for([r["id"] for r in rows], current_only=True)
    for row in rows:
        row["occupations"] = group_by_occupation(approvals.get(row["id"], []))
    return Page(rows, total, page, page_size)


def group_by_occupation(approvals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Approvals of one institution as one line per occupation: its levels and validity."""
    grouped: dict[int, dict[str, Any]] = {}
    for a in approvals:
        item = grouped.setdefault(a["occupation_id"], {
            "occupation_id": a["occupation_id"], "occupation_name": a["occupation_name"], "levels": [],
            "valid_from": a["valid_from"], "valid_to": a["valid_to"],
        })
        item["levels"].append(a["level"])
        item["valid_from"] = min(item["valid_from"], a["valid_from"])
        item["valid_to"] = max(item["valid_to"], a["valid_to"])
    return list(grouped.values())


# --- the spreadsheet import ----------------------------------------------------------------------

IMPORT_NOTES = [
    "每行填写一个机构的一个核准职业；同一机构核准多个职业时填写多行，各行的机构信息须一致。",
    "所在城市填写地市名称（如 济南市）或行政区划代码（如 370100）。",
    "核准等级填写 初级、中级、高级 中的一个或多个，用顿号或逗号分隔。",
    "日期格式为 YYYY-MM-DD；有效期起不能晚于有效期止。",
    "按统一社会信用代码识别机构：重复导入同一文件不会产生变化；信息有变化的机构会被更新。",
    "导入是全有或全无的：任何一行有错误，都不会写入任何数据，并列出每一处错误。",
    "支持 .xlsx，以及 UTF-8 或 GBK 编码的 .csv 文件；请勿使用合并单元格。",
]


def import_columns(cities: dict[str, dict[str, Any]] | None = None,
                   occupations: dict[str, int] | None = None) -> list[Column]:
    def city(text: str) -> int:
        found = (cities or {}).get(text.strip())
        if found is None:
            raise ValueError(f"未知的城市“{text}”，应为山东省16个地市之一（如 济南市 或 370100）")
        return found["id"]

    def occupation(text: str) -> int:
        found = (occupations or {}).get(text.strip())
        if found is None:
            raise ValueError(f"未知的职业“{text}”，应为项目职业目录中的名称")
        return found

    def limited(limit: int):
        return lambda text: rules.clean_text(text, limit)

    return [
        Column("name", "机构名称", parse=limited(128), example="山东数字技术职业培训学院", width=30),
        Column("credit_code", "统一社会信用代码", parse=parse_credit_code, example="91370100MA3C4E5F6X", width=22),
        Column("city", "所在城市", parse=city, example="济南市", width=10),
        Column("address", "地址", parse=limited(256), example="济南市历下区经十路1号", width=30),
        Column("contact_person", "联系人", parse=limited(64), example="王明", width=10),
        Column("phone", "联系电话", parse=parse_phone, example="0531-88886666", width=16),
        Column("email", "电子邮箱", required=False, parse=rules.parse_email, example="peixun@example.cn", width=22),
        Column("occupation", "核准职业", parse=occupation, example="人工智能工程技术人员", width=24),
        Column("levels", "核准等级", parse=rules.parse_levels, example="初级、中级", width=14),
        Column("valid_from", "核准有效期起", parse=rules.parse_date, example="2026-01-01", width=14),
        Column("valid_to", "核准有效期止", parse=rules.parse_date, example="2028-12-31", width=14),
        Column("document_number", "核准文号", parse=limited(64), example="鲁人社字〔2026〕1号", width=22),
    ]


def import_template() -> bytes:
    return tabular.template_xlsx("培训机构名录", import_columns(), IMPORT_NOTES)


_OWN_KEYS = ("name", "city", "address", "contact_person", "phone", "email")
_HEADERS = {c.key: c.header for c in import_columns()}


def _period_check(number: int, record: dict[str, Any]) -> list[RowFault]:
    start, end = record.get("valid_from"), record.get("valid_to")
    if isinstance(start, date) and isinstance(end, date) and (refusal := rules.period_refusal(start, end)):
        return [RowFault(number, "核准有效期止", refusal)]
    return []


def _parse_import(data: bytes, filename: str, cities: dict[str, dict[str, Any]], occupations: dict[str, int],
                  occupation_names: dict[int, str]) -> list[tuple[int, dict[str, Any]]]:
    """Read and check the whole file; raise ``ImportRejected`` with every fault, or return the rows."""
    table = tabular.read_table(data, import_columns(cities, occupations), filename,
                               max_rows=IMPORT_MAX_ROWS, row_check=_period_check)
    first_row: dict[str, tuple[int, dict[str, Any]]] = {}
    seen_levels: dict[tuple[str, int, str], int] = {}
    for number, record in table.rows:
        code = record.get("credit_code")
        if not code:
            continue
        if code not in first_row:
            first_row[code] = (number, record)
        else:
            other_number, other = first_row[code]
            for key in _OWN_KEYS:
                if key in record and key in other and (record[key] or "") != (other[key] or ""):
                    table.faults.append(RowFault(
                        number, _HEADERS[key],
                        f"与第{other_number}行的统一社会信用代码相同，但{_HEADERS[key]}不一致",
                    ))
        occupation, levels = record.get("occupation"), record.get("levels")
        if occupation and levels:
            for level in levels:
                earlier = seen_levels.setdefault((code, occupation, level), number)
                if earlier != number:
                    table.faults.append(RowFault(
                        number, "核准等级",
                        f"与第{earlier}行重复：同一机构的“{occupation_names[occupation]}”{LEVELS[level]}只能填写一次",
                    ))
    table.faults.sort(key=lambda f: f.row)
    table.raise_if_faulty()
    return table.rows


async def _bulk_insert(connection: Any, tablename: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Many rows through the transaction's own connection: Piccolo's per-row SQL building is the
    bottleneck at tens of thousands of rows (see MEASURED.md)."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if db.is_postgres():
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    else:
        marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{tablename}" ({names}) VALUES ({marks})'
    for start in range(0, len(rows), _BATCH):
        await connection.executemany(sql, rows[start:start + _BATCH])


async def import_institutions(actor: Actor, data: bytes, filename: str = "") -> ImportResult:
    """Import the provincial list: all-or-nothing, idempotent by credit code."""
    require(actor, "institution.write")
    require(actor, "approval.write")
    cities = await _cities()
    occupation_rows = await _occupations()
    occupations = {o["name"]: o["id"] for o in occupation_rows}
    occupation_names = {o["id"]: o["name"] for o in occupation_rows}
    rows = await asyncio.to_thread(_parse_import, data, filename, _city_lookup(cities), occupations,
                                   occupation_names)
    codes_by_city = {c["id"]: c["code"] for c in cities}
    result = ImportResult(rows=len(rows))
    now = utcnow()
    async with db.transaction() as txn:
        existing = {r["credit_code"]: r for r in await Institution.select(
            Institution.id, Institution.credit_code, *(getattr(Institution, k) for k in _OWN_KEYS),
            Institution.lock_version)}
        approvals: dict[tuple[int, int, str], dict[str, Any]] = {}
        for a in await Approval.select(Approval.id, Approval.institution, Approval.occupation, Approval.level,
                                       Approval.valid_from, Approval.valid_to, Approval.document_number,
                                       Approval.withdrawn).order_by(Approval.id):
            approvals[(a["institution"], a["occupation"], a["level"])] = a
        # One record per institution (rows agree on its own fields), and its approvals.
        wanted: dict[str, dict[str, Any]] = {}
        wanted_approvals: dict[str, list[tuple[int, str, date, date, str]]] = {}
        for _, record in rows:
            code = record["credit_code"]
            wanted.setdefault(code, {k: record.get(k) or "" for k in _OWN_KEYS})
            for level in record["levels"]:
                wanted_approvals.setdefault(code, []).append(
                    (record["occupation"], level, record["valid_from"], record["valid_to"], record["document_number"]))
        new_codes = [code for code in wanted if code not in existing]
        await _bulk_insert(
            txn.connection, Institution._meta.tablename,
            ("name", "credit_code", "city", "address", "contact_person", "phone", "email", "status",
             "status_reason", "lock_version", "created_at", "updated_at"),
            [(wanted[c]["name"], c, wanted[c]["city"], wanted[c]["address"], wanted[c]["contact_person"],
              wanted[c]["phone"], wanted[c]["email"], "active", "", 1, now, now) for c in new_codes],
        )
        result.created = len(new_codes)
        result.created_codes = new_codes
        ids = {c: r["id"] for c, r in existing.items()}
        if new_codes:
            ids = {r["credit_code"]: r["id"] for r in await Institution.select(Institution.id, Institution.credit_code)}
        new_approvals: list[tuple] = []
        for code, items in wanted_approvals.items():
            institution_id = ids[code]
            own_before = existing.get(code)
            own_changes = {} if own_before is None else {
                k: v for k, v in wanted[code].items() if (own_before[k] or "") != v}
            approval_changes: list[dict[str, Any]] = []
            for occupation, level, start, end, number in items:
                current = approvals.get((institution_id, occupation, level))
                if current is None:
                    new_approvals.append((institution_id, occupation, level, start, end, number, False, now))
                    if own_before is not None:
                        approval_changes.append({"occupation": occupation_names[occupation], "level": level,
                                                 "granted": [start, end, number]})
                    continue
                if (current["valid_from"], current["valid_to"], current["document_number"], current["withdrawn"]) == (
                        start, end, number, False):
                    continue
                await Approval.update({Approval.valid_from: start, Approval.valid_to: end,
                                       Approval.document_number: number, Approval.withdrawn: False}).where(
                    Approval.id == current["id"])
                result.approvals_updated += 1
                approval_changes.append({"occupation": occupation_names[occupation], "level": level,
                                         "before": [current["valid_from"], current["valid_to"],
                                                    current["document_number"], current["withdrawn"]],
                                         "after": [start, end, number, False]})
            if own_before is None:
                continue
            if not own_changes and not approval_changes:
                result.unchanged += 1
                continue
            result.updated += 1
            if own_changes:
                await Institution.update({
                    **{getattr(Institution, k): v for k, v in own_changes.items()},
                    Institution.lock_version: Institution.lock_version + 1, Institution.updated_at: now,
                }).where(Institution.id == institution_id)
            await audit.record(actor, "institution.import_update", "institution", institution_id,
                               before={k: own_before[k] for k in own_changes},
                               after={**own_changes, "approvals": approval_changes},
                               city_code=codes_by_city.get(wanted[code]["city"], ""), institution_id=institution_id)
        await _bulk_insert(
            txn.connection, Approval._meta.tablename,
            ("institution", "occupation", "level", "valid_from", "valid_to", "document_number", "withdrawn",
             "created_at"),
            new_approvals,
        )
        result.approvals_created = len(new_approvals)
        if result.created or result.updated:
            listed = new_codes[:2000]
            await audit.record(actor, "institution.import", "institution_import", hashlib.sha256(data).hexdigest()[:16],
                               after={"filename": filename, "sha256": hashlib.sha256(data).hexdigest(),
                                      "rows": result.rows, "created": result.created, "updated": result.updated,
                                      "unchanged": result.unchanged, "approvals_created": result.approvals_created,
                                      "approvals_updated": result.approvals_updated, "created_credit_codes": listed,
                                      "created_credit_codes_truncated": len(new_codes) > len(listed)},
                               city_code="")
    return result


__all__ = [
    "ImportRejected",
    "ImportResult",
    "Page",
    "change_status",
    "create_institution",
    "get_institution",
    "grant_approval",
    "import_institutions",
    "import_template",
    "list_approvals",
    "list_institutions",
    "public_list",
    "reinstate",
    "revoke",
    "suspend",
    "update_institution",
    "withdraw_approval",
]
