"""Backup and restore round trip, with the stored files and their digests, on both databases."""

from __future__ import annotations

import asyncio
import tarfile

import pytest

from tests.factories import make_user
from training.services.backup import BackupInvalid, create_backup, restore_backup
from training.tables import User


async def test_backup_and_restore_round_trip(database):
    await make_user("province", username="before-backup")
    stored = database.files_dir / "ab" / "abcdef.docx"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"filed document bytes")
    result = await asyncio.to_thread(create_backup, database)
    assert result.files >= 1
    await make_user("province", username="after-backup")
    stored.write_bytes(b"changed after the backup")
    await asyncio.to_thread(restore_backup, database, result.path)
    names = {row["username"] for row in await User.select(User.username)}
    assert "before-backup" in names
    assert "after-backup" not in names
    assert stored.read_bytes() == b"filed document bytes"


async def test_restore_refuses_a_tampered_archive(database, tmp_path):
    await make_user("province", username="someone")
    stored = database.files_dir / "cd" / "cdef.xlsx"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"original")
    result = await asyncio.to_thread(create_backup, database)
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(result.path, "r:gz") as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.endswith("cdef.xlsx"):
                data = b"altered!"
                member.size = len(data)
            import io

            target.addfile(member, io.BytesIO(data))
    with pytest.raises(BackupInvalid, match="摘要不符"):
        await asyncio.to_thread(restore_backup, database, tampered)


async def test_retention_keeps_the_newest(database):
    for _ in range(3):
        await asyncio.to_thread(create_backup, database, 2)
        await asyncio.sleep(1.05)
    assert len(list(database.backups_dir.glob("training-*.tar.gz"))) == 2
