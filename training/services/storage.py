"""Content-addressed file store (文件存储): generated documents kept under the data directory by SHA-256.

A file lives at ``files/ab/cd/<sha256>`` under ``settings.files_dir``; the ``stored_file`` row is
unique by digest, so storing the same bytes twice returns the same row and writes nothing new.
Files are written to a temporary name and moved into place with ``os.replace`` (atomic on one
file system), so a crash never leaves a half-written file under its digest. A file is never
edited after it is stored; :func:`read_verified` recomputes the digest on every read and refuses
(and audits) a file that was changed or removed on disk.

The root directory is the application's ``settings.files_dir``: the web application, the command
line and the tests call :func:`configure`; without it the root is derived from the environment
exactly as ``Settings.from_env`` does (``$TRAINING_DATA_DIR/files``, default ``var/files``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from training import db
from training.access import SYSTEM, Actor
from training.errors import Conflict, NotFound
from training.rules.clock import utcnow
from training.tables import StoredFile

TAMPERED = "文件校验失败：存储的文件已被改动或丢失，不能提供下载。已记录此情况，请联系系统管理员从备份恢复"

_root: Path | None = None


def configure(files_dir: Path | str) -> None:
    """Use ``files_dir`` (``settings.files_dir``) as the store's root."""
    global _root
    _root = Path(files_dir)


def root() -> Path:
    """The configured root; unconfigured (a script that never called ``configure``) it is the one
    ``Settings.from_env()`` names, so there is still only one place that decides."""
    if _root is not None:
        return _root
    from training.settings import Settings

    return Settings.from_env().files_dir.resolve()


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _write_atomically(target: Path, content: bytes) -> None:
    existing = _read(target)
    if existing is not None and digest(existing) == digest(content):
        return  # already stored (the same bytes stored twice)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def store(content: bytes, content_type: str, filename_hint: str = "") -> int:
    """Keep ``content`` and return its ``stored_file`` id (the existing row when already stored).

    Safe outside or inside a caller's transaction. ``filename_hint`` is only for the log of the
    caller; the store names files by their digest alone.
    """
    sha = digest(content)
    path = relative_path(sha)
    await asyncio.to_thread(_write_atomically, root() / path, content)
    rows = await StoredFile.raw(
        "INSERT INTO stored_file (sha256, size, content_type, relative_path, created_at) "
        "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (sha256) DO NOTHING RETURNING id",
        sha, len(content), content_type[:128], path, utcnow())
    if rows:
        return rows[0]["id"]
    row = await StoredFile.select(StoredFile.id).where(StoredFile.sha256 == sha).first()
    return row["id"]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


async def read_verified(file_id: int, actor: Actor = SYSTEM, *, context: dict[str, Any] | None = None
                        ) -> tuple[bytes, dict[str, Any]]:
    """The stored bytes and their row, after checking the SHA-256 again.

    A missing or altered file raises ``Conflict`` (code ``file_tampered``) and writes an audit
    event ``file.tampered`` naming the file and ``context`` (e.g. the filing it belongs to).
    """
    row = await StoredFile.select().where(StoredFile.id == file_id).first()
    if row is None:
        raise NotFound("文件不存在")
    content = await asyncio.to_thread(_read, root() / row["relative_path"])
    if content is not None and digest(content) == row["sha256"]:
        return content, row
    found = "missing" if content is None else digest(content)
    async with db.transaction():
        await audit_tamper(actor, row, found, context or {})
    raise Conflict(TAMPERED, code="file_tampered")


async def audit_tamper(actor: Actor, row: dict[str, Any], found: str, context: dict[str, Any]) -> None:
    from training.services import audit

    await audit.record(actor, "file.tampered", "stored_file", row["id"],
                       before={"sha256": row["sha256"], "path": row["relative_path"]},
                       after={"found": found, **context},
                       city_code=context.get("city_code"), institution_id=context.get("institution_id"))
