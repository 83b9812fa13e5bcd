"""Backups: one archive holding the database and the stored files, each file with its SHA-256.

SQLite is copied with its online backup API (consistent while the service runs); PostgreSQL with
``pg_dump --format=custom``. Restore checks every digest before it touches anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from training.rules.clock import CHINA, utcnow
from training.settings import Settings

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    files: int
    size: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = urlparse(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    args = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres"]
    return args, env


def _pg_database(url: str) -> str:
    return (urlparse(url).path or "/postgres").lstrip("/") or "postgres"


def _dump_database(settings: Settings, target: Path) -> str:
    if settings.database.is_postgres:
        args, env = _pg_env(settings.database.url)
        out = target / "database.pgdump"
        subprocess.run(["pg_dump", *args, "--format=custom", "--no-owner", "--file", str(out),
                        _pg_database(settings.database.url)], check=True, env=env, capture_output=True)
        return out.name
    out = target / "database.sqlite3"
    source = sqlite3.connect(settings.database.sqlite_path)
    try:
        copy = sqlite3.connect(out)
        with copy:
            source.backup(copy)
        copy.close()
    finally:
        source.close()
    return out.name


def create_backup(settings: Settings, keep: int = 14) -> BackupResult:
    """Write ``backups/training-<China time>.tar.gz`` and keep the ``keep`` newest archives."""
    settings.backups_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().astimezone(CHINA).strftime("%Y%m%dT%H%M%S")
    archive = settings.backups_dir / f"training-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(dir=settings.backups_dir) as work:
        work_dir = Path(work)
        database_name = _dump_database(settings, work_dir)
        files = []
        if settings.files_dir.exists():
            for path in sorted(p for p in settings.files_dir.rglob("*") if p.is_file()):
                files.append({"path": path.relative_to(settings.files_dir).as_posix(), "sha256": _sha256(path)})
        manifest = {
            "created_at": utcnow().isoformat(),
            "database": {"kind": "postgresql" if settings.database.is_postgres else "sqlite",
                         "file": database_name, "sha256": _sha256(work_dir / database_name)},
            "files": files,
        }
        (work_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work_dir / MANIFEST, arcname=MANIFEST)
            tar.add(work_dir / database_name, arcname=database_name)
            for item in files:
                tar.add(settings.files_dir / item["path"], arcname=f"files/{item['path']}")
        partial.rename(archive)  # a crash mid-write never leaves a half archive under the real name
    for old in sorted(settings.backups_dir.glob("training-*.tar.gz"))[:-keep]:
        old.unlink()
    return BackupResult(path=archive, files=len(files), size=archive.stat().st_size)


class BackupInvalid(Exception):
    pass


def restore_backup(settings: Settings, archive: Path) -> dict:
    """Replace the database and the stored files with the archive's, after checking every digest."""
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work_dir, filter="data")
        manifest = json.loads((work_dir / MANIFEST).read_text(encoding="utf-8"))
        database = manifest["database"]
        if _sha256(work_dir / database["file"]) != database["sha256"]:
            raise BackupInvalid("数据库备份文件的摘要不符，备份已损坏")
        for item in manifest["files"]:
            if _sha256(work_dir / "files" / item["path"]) != item["sha256"]:
                raise BackupInvalid(f"文件 {item['path']} 的摘要不符，备份已损坏")
        kind = "postgresql" if settings.database.is_postgres else "sqlite"
        if database["kind"] != kind:
            raise BackupInvalid(f"备份来自 {database['kind']}，当前数据库是 {kind}")
        if settings.database.is_postgres:
            args, env = _pg_env(settings.database.url)
            subprocess.run(["pg_restore", *args, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                            "--dbname", _pg_database(settings.database.url), str(work_dir / database["file"])],
                           check=True, env=env, capture_output=True)
        else:
            target = settings.database.sqlite_path
            source = sqlite3.connect(work_dir / database["file"])
            try:
                destination = sqlite3.connect(target)
                with destination:
                    source.backup(destination)
                destination.close()
            finally:
                source.close()
        if (work_dir / "files").exists():
            settings.files_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(work_dir / "files", settings.files_dir, dirs_exist_ok=True)
        return manifest
