"""City catalogues (城市培训目录): which institutions, for which of their approved occupations, a city
puts into its vocational-training catalogue. Removal keeps the row, so the history stays readable.
"""

from __future__ import annotations

from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.errors import Conflict, Invalid, NotFound
from training.rules.clock import today_in_china, utcnow
from training.services import audit
from training.tables import Approval, CatalogueEntry, City, Institution, Occupation

_OUTSIDE = "该城市的目录不在您的管辖范围内"


async def _city(actor: Actor, city_code: str) -> dict[str, Any]:
    """The city whose catalogue is asked for. A city officer reaches only their own city's."""
    city = await City.select(City.id, City.code, City.name).where(City.code == city_code).first()
    if city is None:
        raise NotFound("城市不存在")
    if actor.is_city and city["id"] != actor.city_id:
        raise NotFound(_OUTSIDE)
    return city


_ENTRY_COLUMNS = (
    CatalogueEntry.id,
    CatalogueEntry.city.code.as_alias("city_code"),
    CatalogueEntry.institution.id.as_alias("institution_id"),
    CatalogueEntry.institution.name.as_alias("institution_name"),
    CatalogueEntry.institution.credit_code.as_alias("credit_code"),
    CatalogueEntry.institution.status.as_alias("institution_status"),
    CatalogueEntry.occupation.id.as_alias("occupation_id"),
    CatalogueEntry.occupation.name.as_alias("occupation_name"),
    CatalogueEntry.added_at,
    CatalogueEntry.added_by.username.as_alias("added_by"),
    CatalogueEntry.added_reason,
    CatalogueEntry.removed_at,
    CatalogueEntry.removed_by.username.as_alias("removed_by"),
    CatalogueEntry.removed_reason,
)


async def list_entries(actor: Actor, city_code: str, *, include_removed: bool = False) -> list[dict[str, Any]]:
    """The city's catalogue now (or every entry ever, with ``include_removed``), inside the actor's scope."""
    city = await _city(actor, city_code)
    query = restrict(CatalogueEntry.select(*_ENTRY_COLUMNS).where(CatalogueEntry.city == city["id"]),
                     CatalogueEntry, actor)
    if not include_removed:
        query = query.where(CatalogueEntry.removed_at.is_null())
    rows = await query.order_by(CatalogueEntry.institution.name).order_by(
        CatalogueEntry.occupation.sort_order).order_by(CatalogueEntry.id)
    for row in rows:
        row["current"] = row["removed_at"] is None
    return rows


async def history(actor: Actor, city_code: str) -> list[dict[str, Any]]:
    """Every addition and removal, newest first: when, what, by whom, why."""
    events: list[dict[str, Any]] = []
    for entry in await list_entries(actor, city_code, include_removed=True):
        base = {k: entry[k] for k in ("id", "institution_id", "institution_name", "occupation_id",
                                      "occupation_name")}
        events.append({**base, "event": "added", "at": entry["added_at"], "by": entry["added_by"] or "",
                       "reason": entry["added_reason"]})
        if entry["removed_at"] is not None:
            events.append({**base, "event": "removed", "at": entry["removed_at"], "by": entry["removed_by"] or "",
                           "reason": entry["removed_reason"]})
    events.sort(key=lambda e: (e["at"], e["event"] == "removed", e["id"]), reverse=True)
    return events


async def approved_occupations(institution_ids: list[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """Per active institution, the occupations it holds an unexpired, unwithdrawn approval for."""
    today = today_in_china()
    query = Approval.select(
        Approval.institution.id.as_alias("institution_id"), Approval.occupation.id.as_alias("occupation_id"),
        Approval.occupation.name.as_alias("occupation_name"), Approval.level, Approval.valid_to,
    ).where((Approval.withdrawn == False) & (Approval.valid_to >= today)  # noqa: E712
            & (Approval.institution.status == "active"))
    if institution_ids is not None:
        query = query.where(Approval.institution.is_in(institution_ids or [0]))
    result: dict[int, dict[int, dict[str, Any]]] = {}
    for row in await query.order_by(Approval.occupation.sort_order):
        item = result.setdefault(row["institution_id"], {}).setdefault(row["occupation_id"], {
            "occupation_id": row["occupation_id"], "occupation_name": row["occupation_name"], "levels": [],
            "valid_to": row["valid_to"]})
        item["levels"].append(row["level"])
        item["valid_to"] = max(item["valid_to"], row["valid_to"])
    return {k: list(v.values()) for k, v in result.items()}


async def candidates(actor: Actor, city_code: str) -> list[dict[str, Any]]:
    """Active institutions the city may add, each with its approved occupations and which of them
    are already in the city's catalogue."""
    city = await _city(actor, city_code)
    require(actor, "catalogue.write")
    approved = await approved_occupations()
    if not approved:
        return []
    institutions = await Institution.select(
        Institution.id, Institution.name, Institution.credit_code, Institution.city.name.as_alias("city_name"),
    ).where(Institution.id.is_in(list(approved))).order_by(Institution.name)
    listed = await CatalogueEntry.select(CatalogueEntry.institution, CatalogueEntry.occupation).where(
        (CatalogueEntry.city == city["id"]) & CatalogueEntry.removed_at.is_null())
    in_catalogue = {(r["institution"], r["occupation"]) for r in listed}
    for institution in institutions:
        institution["occupations"] = [
            {**o, "listed": (institution["id"], o["occupation_id"]) in in_catalogue}
            for o in approved[institution["id"]]
        ]
    return institutions


def _ids(values: Any) -> list[int]:
    if values is None:
        return []
    if not isinstance(values, list | tuple | set):
        values = [values]
    ids: list[int] = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise Invalid("请选择职业", fields={"occupation_ids": "职业编号无效"}) from None
    return list(dict.fromkeys(ids))


async def add_entries(actor: Actor, city_code: str, institution_id: Any, occupation_ids: Any,
                      reason: str = "") -> list[dict[str, Any]]:
    """Put an institution into the city's catalogue for one or more of its approved occupations."""
    city = await _city(actor, city_code)
    require(actor, "catalogue.write")
    occupations = _ids(occupation_ids)
    if not occupations:
        raise Invalid("请至少选择一个职业", fields={"occupation_ids": "请至少选择一个核准职业"})
    try:
        institution_id = int(institution_id)
    except (TypeError, ValueError):
        raise Invalid("请选择机构", fields={"institution_id": "请选择机构"}) from None
    reason = " ".join((reason or "").split())
    async with db.transaction():
        institution = await Institution.select(Institution.id, Institution.name, Institution.status).where(
            Institution.id == institution_id).first()
        if institution is None:
            raise NotFound("机构不存在")
        if institution["status"] != "active":
            state = "已暂停" if institution["status"] == "suspended" else "已撤销"
            raise Conflict(f"机构“{institution['name']}”{state}，不能列入城市目录",
                           fields={"institution_id": f"机构{state}"})
        approved = {o["occupation_id"]: o for o in (await approved_occupations([institution_id])).get(institution_id, [])}
        names = {r["id"]: r["name"] for r in await Occupation.select(Occupation.id, Occupation.name).where(
            Occupation.id.is_in(occupations))}
        unknown = [o for o in occupations if o not in names]
        if unknown:
            raise Invalid("职业不存在", fields={"occupation_ids": "职业不存在"})
        refused = [names[o] for o in occupations if o not in approved]
        if refused:
            message = f"机构“{institution['name']}”未获核准（或核准已过期、已撤回）培训：{'、'.join(refused)}"
            raise Conflict(message, fields={"occupation_ids": message}, code="not_approved")
        listed = await CatalogueEntry.select(CatalogueEntry.occupation).where(
            (CatalogueEntry.city == city["id"]) & (CatalogueEntry.institution == institution_id)
            & CatalogueEntry.removed_at.is_null() & CatalogueEntry.occupation.is_in(occupations))
        if listed:
            already = "、".join(names[r["occupation"]] for r in listed)
            raise Conflict(f"机构“{institution['name']}”的以下职业已在本市目录中：{already}",
                           fields={"occupation_ids": f"已在目录中：{already}"})
        now = utcnow()
        created = []
        for occupation_id in occupations:
            rows = await CatalogueEntry.insert(CatalogueEntry(
                city=city["id"], institution=institution_id, occupation=occupation_id, added_at=now,
                added_by=actor.user_id, added_reason=reason,
            )).returning(CatalogueEntry.id)
            created.append(rows[0]["id"])
            await audit.record(actor, "catalogue.add", "catalogue_entry", rows[0]["id"],
                               after={"city": city["code"], "institution": institution["name"],
                                      "occupation": names[occupation_id], "reason": reason},
                               city_code=city["code"], institution_id=institution_id)
    entries = await list_entries(actor, city_code)
    return [e for e in entries if e["id"] in created]


async def remove_entry(actor: Actor, city_code: str, entry_id: int, reason: str) -> dict[str, Any]:
    """Take an entry out of the city's catalogue, with a reason; the row stays for the history."""
    city = await _city(actor, city_code)
    require(actor, "catalogue.write")
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("请填写移出原因", fields={"reason": "移出目录必须填写原因"})
    if len(reason) > 500:
        raise Invalid("原因过长", fields={"reason": "不能超过500个字"})
    async with db.transaction():
        entry = await CatalogueEntry.select(
            CatalogueEntry.id, CatalogueEntry.removed_at, CatalogueEntry.institution,
            CatalogueEntry.institution.name.as_alias("institution_name"),
            CatalogueEntry.occupation.name.as_alias("occupation_name"),
        ).where((CatalogueEntry.id == entry_id) & (CatalogueEntry.city == city["id"])).first()
        if entry is None:
            raise NotFound("目录条目不存在")
        if entry["removed_at"] is not None:
            raise Conflict("该条目已移出目录")
        now = utcnow()
        await CatalogueEntry.update({CatalogueEntry.removed_at: now, CatalogueEntry.removed_by: actor.user_id,
                                     CatalogueEntry.removed_reason: reason}).where(CatalogueEntry.id == entry_id)
        await audit.record(actor, "catalogue.remove", "catalogue_entry", entry_id,
                           before={"institution": entry["institution_name"], "occupation": entry["occupation_name"]},
                           after={"removed": True, "reason": reason},
                           city_code=city["code"], institution_id=entry["institution"])
    rows = await list_entries(actor, city_code, include_removed=True)
    return next(e for e in rows if e["id"] == entry_id)


async def is_catalogued(city_id: int, institution_id: int, occupation_id: int) -> bool:
    """Whether the city's catalogue currently lists the institution for the occupation (cohort rules).

    Only the catalogue is checked here; the institution's status and approvals are separate rules.
    """
    return await CatalogueEntry.exists().where(
        (CatalogueEntry.city == city_id) & (CatalogueEntry.institution == institution_id)
        & (CatalogueEntry.occupation == occupation_id) & CatalogueEntry.removed_at.is_null()
    )
