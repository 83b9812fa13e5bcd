"""Reference data for every signed-in user: cities and occupations with their standards."""

from __future__ import annotations

from typing import Any

from training.tables import City, Occupation, Standard


async def list_cities() -> list[dict[str, Any]]:
    return await City.select(City.code, City.name, City.name_en).order_by(City.sort_order)


async def list_occupations() -> list[dict[str, Any]]:
    occupations = await Occupation.select(
        Occupation.id, Occupation.field, Occupation.name, Occupation.name_en, Occupation.national_code
    ).order_by(Occupation.sort_order)
    standards = await Standard.select(
        Standard.occupation, Standard.level, Standard.version_label, Standard.required_hours,
        Standard.min_practice_hours, Standard.max_online_share, Standard.illustrative,
    ).where(Standard.active == True)  # noqa: E712  (Piccolo builds SQL from ==)
    by_occupation: dict[int, list[dict[str, Any]]] = {}
    for s in standards:
        by_occupation.setdefault(s.pop("occupation"), []).append(s)
    for occupation in occupations:
        occupation["standards"] = sorted(by_occupation.get(occupation["id"], []),
                                         key=lambda s: ["junior", "intermediate", "senior"].index(s["level"])
                                         if s["level"] in ("junior", "intermediate", "senior") else 9)
        occupation["levels"] = [s["level"] for s in occupation["standards"]]
    return occupations
