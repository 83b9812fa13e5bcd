"""Bring a database up to date: run Piccolo's migrations, then load missing reference data."""

from __future__ import annotations

import contextlib
import csv
import io
import os
from importlib import resources

from piccolo.apps.migrations.commands.forwards import run_forwards

from training import db
from training.access import SYSTEM
from training.services import audit
from training.tables import City, Occupation, Standard

# Illustrative hours per level, shipped so the demo and a fresh install work; the province
# replaces them with each national standard's figures. Every page and report that uses them
# says "示例值" (see ``Standard.illustrative``).
ILLUSTRATIVE_HOURS = {
    "junior": (128.0, 48.0, 0.5),
    "intermediate": (160.0, 64.0, 0.5),
    "senior": (192.0, 80.0, 0.4),
}
ILLUSTRATIVE_VERSION = "示例值 2026（非国家标准原文）"


def read_reference(name: str) -> list[dict[str, str]]:
    text = resources.files("training.reference").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


async def migrate(quiet: bool = True) -> None:
    os.environ.setdefault("PICCOLO_CONF", "training.piccolo_conf")
    db.current_engine()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="training", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{sink.getvalue()}")
    await load_reference_data()


async def load_reference_data() -> dict[str, int]:
    """Insert the shipped cities, occupations and illustrative standards that are missing.

    Existing rows are left alone: the province may have edited them.
    """
    added = {"cities": 0, "occupations": 0, "standards": 0}
    async with db.transaction():
        known_cities = {r["code"] for r in await City.select(City.code)}
        for order, row in enumerate(read_reference("cities.csv")):
            if row["code"] not in known_cities:
                await City.insert(City(code=row["code"], name=row["name"], name_en=row["name_en"],
                                       sort_order=order))
                added["cities"] += 1
        known_occupations = {r["name"] for r in await Occupation.select(Occupation.name)}
        for order, row in enumerate(read_reference("occupations.csv")):
            if row["occupation"] not in known_occupations:
                await Occupation.insert(Occupation(field=row["field"], name=row["occupation"],
                                                   name_en=row["occupation_en"],
                                                   national_code=row["code"], sort_order=order))
                added["occupations"] += 1
        with_standard = {
            (r["occupation"], r["level"]) for r in await Standard.select(Standard.occupation, Standard.level)
        }
        for occupation in await Occupation.select(Occupation.id):
            for level, (required, practice, online) in ILLUSTRATIVE_HOURS.items():
                if (occupation["id"], level) not in with_standard:
                    await Standard.insert(Standard(occupation=occupation["id"], level=level,
                                                   version_label=ILLUSTRATIVE_VERSION,
                                                   required_hours=required, min_practice_hours=practice,
                                                   max_online_share=online, illustrative=True))
                    added["standards"] += 1
        if any(added.values()):
            await audit.record(SYSTEM, "reference.load", "reference", "", after=added)
    return added
