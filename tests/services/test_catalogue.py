"""City catalogues: a city lists approved institutions for their approved occupations, with a history."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import city_id, make_institution, make_user
from tests.institutions_factories import AI, BIG_DATA, approve, occupation_id
from training.errors import Conflict, Forbidden, Invalid, NotFound
from training.services import catalogue
from training.tables import AuditEvent, CatalogueEntry


async def _approved_institution(city: str = "370100", **values) -> int:
    institution_id = await make_institution(city, **values)
    await approve(institution_id, AI)
    await approve(institution_id, BIG_DATA, "senior")
    return institution_id


async def test_city_adds_approved_occupations_and_is_catalogued(database):
    jinan = await make_user("city", "370100")
    institution_id = await _approved_institution()
    ai, big_data = await occupation_id(AI), await occupation_id(BIG_DATA)
    added = await catalogue.add_entries(jinan, "370100", institution_id, [ai, big_data], "本市重点机构")
    assert {e["occupation_name"] for e in added} == {AI, BIG_DATA}
    assert await catalogue.is_catalogued(await city_id("370100"), institution_id, ai)
    assert not await catalogue.is_catalogued(await city_id("370200"), institution_id, ai)
    assert await AuditEvent.count().where(AuditEvent.action == "catalogue.add") == 2


async def test_unapproved_occupation_is_refused(database):
    jinan = await make_user("city", "370100")
    institution_id = await make_institution()
    await approve(institution_id, AI)
    with pytest.raises(Conflict) as caught:
        await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI),
                                                                     await occupation_id(BIG_DATA)])
    assert BIG_DATA in caught.value.detail
    assert await CatalogueEntry.count() == 0


async def test_expired_or_withdrawn_approval_does_not_count(database):
    jinan = await make_user("city", "370100")
    expired = await make_institution()
    await approve(expired, AI, valid_from=date(2020, 1, 1), valid_to=date(2021, 1, 1))
    withdrawn = await make_institution()
    await approve(withdrawn, AI, withdrawn=True)
    for institution_id in (expired, withdrawn):
        with pytest.raises(Conflict):
            await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)])


@pytest.mark.parametrize("status", ["suspended", "revoked"])
async def test_suspended_or_revoked_institution_is_refused(database, status):
    jinan = await make_user("city", "370100")
    institution_id = await _approved_institution(status=status)
    with pytest.raises(Conflict):
        await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)])
    assert await CatalogueEntry.count() == 0


async def test_city_writing_another_citys_catalogue_is_refused(database):
    qingdao = await make_user("city", "370200")
    institution_id = await _approved_institution()
    with pytest.raises(NotFound):
        await catalogue.add_entries(qingdao, "370100", institution_id, [await occupation_id(AI)])
    jinan = await make_user("city", "370100")
    entry = (await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)]))[0]
    with pytest.raises(NotFound):
        await catalogue.remove_entry(qingdao, "370100", entry["id"], "越权")
    with pytest.raises(NotFound):
        await catalogue.remove_entry(qingdao, "370200", entry["id"], "越权")
    with pytest.raises(NotFound):
        await catalogue.list_entries(qingdao, "370100")
    assert (await CatalogueEntry.select().first())["removed_at"] is None
    assert await CatalogueEntry.count() == 1


async def test_province_and_institution_cannot_write(database):
    province = await make_user("province")
    institution_id = await _approved_institution()
    own = await make_user("institution", str(institution_id))
    for actor in (province, own):
        with pytest.raises(Forbidden):
            await catalogue.add_entries(actor, "370100", institution_id, [await occupation_id(AI)])
    assert await CatalogueEntry.count() == 0


async def test_adding_twice_is_refused(database):
    jinan = await make_user("city", "370100")
    institution_id = await _approved_institution()
    await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)])
    with pytest.raises(Conflict):
        await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)])


async def test_add_needs_an_occupation(database):
    jinan = await make_user("city", "370100")
    institution_id = await _approved_institution()
    with pytest.raises(Invalid):
        await catalogue.add_entries(jinan, "370100", institution_id, [])


async def test_remove_requires_reason_keeps_row_and_shows_history(database):
    jinan = await make_user("city", "370100")
    institution_id = await _approved_institution()
    ai = await occupation_id(AI)
    entry = (await catalogue.add_entries(jinan, "370100", institution_id, [ai], "首批"))[0]
    with pytest.raises(Invalid):
        await catalogue.remove_entry(jinan, "370100", entry["id"], " ")
    removed = await catalogue.remove_entry(jinan, "370100", entry["id"], "培训质量不达标")
    assert removed["removed_reason"] == "培训质量不达标" and removed["removed_by"] == jinan.username
    assert await catalogue.list_entries(jinan, "370100") == []
    assert not await catalogue.is_catalogued(await city_id("370100"), institution_id, ai)
    with pytest.raises(Conflict):
        await catalogue.remove_entry(jinan, "370100", entry["id"], "再次")
    events = await catalogue.history(jinan, "370100")
    assert [(e["event"], e["reason"]) for e in events] == [("removed", "培训质量不达标"), ("added", "首批")]
    # It may be added again later; the history keeps both.
    await catalogue.add_entries(jinan, "370100", institution_id, [ai], "整改后恢复")
    assert len(await catalogue.history(jinan, "370100")) == 3


async def test_reads_by_role(database):
    jinan = await make_user("city", "370100")
    mine = await _approved_institution()
    other = await _approved_institution()
    await catalogue.add_entries(jinan, "370100", mine, [await occupation_id(AI)])
    await catalogue.add_entries(jinan, "370100", other, [await occupation_id(AI)])
    province = await make_user("province")
    assert len(await catalogue.list_entries(province, "370100")) == 2
    own = await make_user("institution", str(mine))
    assert [e["institution_id"] for e in await catalogue.list_entries(own, "370100")] == [mine]


async def test_candidates_list_active_institutions_with_approved_occupations(database):
    jinan = await make_user("city", "370100")
    approved = await _approved_institution()
    await _approved_institution(status="suspended")
    await make_institution()
    await catalogue.add_entries(jinan, "370100", approved, [await occupation_id(AI)])
    found = await catalogue.candidates(jinan, "370100")
    assert [c["id"] for c in found] == [approved]
    assert [(o["occupation_name"], o["listed"]) for o in found[0]["occupations"]] == [(AI, True), (BIG_DATA, False)]
