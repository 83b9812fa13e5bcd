"""The one place for configuration: built from the environment by ``Settings.from_env()``."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        if self.is_postgres:
            raise ValueError("not a SQLite database URL")
        return Path(self.url.removeprefix("sqlite:///").removeprefix("sqlite://"))


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "noreply@training.local"
    starttls: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    data_dir: Path
    secret_key: str = field(repr=False)
    class_hour_minutes: int = 45
    locale: str = "zh"
    scheduler_enabled: bool = True
    public_base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    session_hours: int = 12
    token_hours: int = 24
    debug: bool = False
    backup_keep: int = 14
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("TRAINING_DATA_DIR") or PROJECT_ROOT / "var").resolve()
        url = env.get("TRAINING_DATABASE_URL") or f"sqlite:///{data_dir / 'training.sqlite3'}"
        secret = env.get("TRAINING_SECRET_KEY") or _load_or_create_secret(data_dir)
        base_url = env.get("TRAINING_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        return cls(
            database=DatabaseSettings(url=url),
            data_dir=data_dir,
            secret_key=secret,
            class_hour_minutes=int(env.get("TRAINING_CLASS_HOUR_MINUTES", "45")),
            locale=env.get("TRAINING_LOCALE", "zh"),
            scheduler_enabled=_flag(env.get("TRAINING_SCHEDULER"), True),
            public_base_url=base_url,
            secure_cookies=_flag(env.get("TRAINING_SECURE_COOKIES"), base_url.startswith("https://")),
            session_hours=int(env.get("TRAINING_SESSION_HOURS", "12")),
            token_hours=int(env.get("TRAINING_TOKEN_HOURS", "24")),
            debug=_flag(env.get("TRAINING_DEBUG"), False),
            backup_keep=int(env.get("TRAINING_BACKUP_KEEP", "14")),
            smtp=SmtpSettings(
                host=env.get("TRAINING_SMTP_HOST", ""),
                port=int(env.get("TRAINING_SMTP_PORT", "25")),
                username=env.get("TRAINING_SMTP_USERNAME", ""),
                password=env.get("TRAINING_SMTP_PASSWORD", ""),
                sender=env.get("TRAINING_SMTP_SENDER", "noreply@training.local"),
                starttls=_flag(env.get("TRAINING_SMTP_STARTTLS"), False),
            ),
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database=DatabaseSettings(url=url))

    @property
    def files_dir(self) -> Path:
        """Content-addressed store of generated documents (never edited once filed)."""
        return self.data_dir / "files"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"


def _load_or_create_secret(data_dir: Path) -> str:
    """A development secret kept in the data directory, so sessions survive a restart.

    Production sets TRAINING_SECRET_KEY; this only spares a newcomer a setup step.
    """
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
