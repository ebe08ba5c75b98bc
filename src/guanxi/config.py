"""Settings from GUANXI_* environment variables; a wrong one stops start-up with one clear line."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A setting is wrong; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUANXI_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="where the SQLite file, secret key and uploads live")
    database_url: str = Field(default="", description="SQLAlchemy URL; defaults to SQLite in data_dir")
    secret_key: str = Field(default="", description="signs sessions; generated once under data_dir when unset")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    session_hours: int = Field(default=12, ge=1, le=24 * 90)
    max_body_mb: float = Field(default=5.0, gt=0, le=1024)
    attachment_max_mb: float = Field(default=20.0, gt=0, le=1024, description="largest attachment file")
    import_max_mb: float = Field(default=100.0, gt=0, le=4096, description="largest file to import")
    secure_cookies: bool = False
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str = Field(default="", description="the address people open Guanxi at; links in emails")

    # background jobs (Huey): an embedded SQLite queue beside the database, or Redis for many machines
    jobs_backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    jobs_queue: str = Field(default="guanxi", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="queue name")
    jobs_in_process: bool = Field(default=True, description="`guanxi serve` runs the job consumer itself")
    jobs_workers: int = Field(default=2, ge=1, le=64, description="worker threads of a consumer")
    jobs_max_attempts: int = Field(default=8, ge=1, le=100)
    jobs_retry_seconds: float = Field(default=30.0, gt=0, le=86400, description="first retry delay; doubles")
    jobs_lease_seconds: float = Field(default=300.0, gt=0, le=86400,
                                      description="a job claimed this long ago by a process that died runs again")
    reminder_interval_seconds: float = Field(default=20.0, ge=1, le=3600)

    # imports: files with this many rows or more are read and cleaned in a second process while the first writes
    import_worker_min_rows: int = Field(default=20_000, ge=0, le=1_000_000_000,
                                        description="rows from which an import cleans in a worker process")

    # exports: bigger lists are written by a background job into data_dir/exports, kept this many days
    export_keep_days: float = Field(default=7, gt=0, le=365, description="days an export job's file is kept")
    export_job_threshold: int = Field(default=10_000, ge=1, le=100_000,
                                      description="the UI exports lists longer than this as a background job")
    export_sweep_seconds: float = Field(default=3600.0, ge=1, le=86400, description="how often expired files go")

    # outgoing mail; email notifications are off while smtp_host is empty
    smtp_host: str = ""
    smtp_port: int = Field(default=0, ge=0, le=65535, description="0: 465 with SSL, 587 with STARTTLS, else 25")
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if v and not (v.startswith(("sqlite", "postgresql"))):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_resolved(self) -> int:
        return self.smtp_port or (465 if self.smtp_ssl else 587 if self.smtp_starttls else 25)

    @property
    def mail_from(self) -> str:
        return self.smtp_from or self.smtp_user or f"guanxi@{self.smtp_host or 'localhost'}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def jobs_db_path(self) -> Path:
        return self.data_dir / "jobs.db"

    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            elif url.startswith("sqlite://"):
                url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'guanxi.db').resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.attachment_max_mb * 1024 * 1024)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def import_max_bytes(self) -> int:
        return int(self.import_max_mb * 1024 * 1024)

    @property
    def imports_dir(self) -> Path:
        return self.data_dir / "imports"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "GUANXI_" + str(err["loc"][0]).upper() if err.get("loc") else "GUANXI_*"
        raise ConfigError(f"Invalid setting {name}: {err['msg']}") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
