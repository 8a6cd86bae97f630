"""Typed settings, read from WENMING_* environment variables and passed in as arguments."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.server_urls import redis_url_problem


def _default_consumer_name() -> str:
    # Unique per replica: two containers of one stage must never share a consumer name.
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Everything a stage can be told. Unset URLs mean "not configured", never a guessed server."""

    model_config = SettingsConfigDict(env_prefix="WENMING_", extra="ignore")

    redis_url: str | None = Field(default=None, description="Redis server, e.g. redis://127.0.0.1:6379/0")
    database_url: str | None = Field(
        default=None, description="Postgres, e.g. postgresql://postgres@127.0.0.1:5432/wenming"
    )
    inbox: Path = Field(default=Path("inbox"), description="folder the ingest stage watches")
    stream_prefix: str = Field(default="wenming", description="prefix of every stream name")
    consumer_name: str = Field(default_factory=_default_consumer_name)
    batch_size: int = Field(default=16, ge=1, le=10_000, description="messages read per batch")
    batch_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="document content handled at once; a larger document is a batch of its own, "
        "taken after the smaller ones read with it",
    )
    inline_text_bytes: int = Field(
        default=256 * 1024,
        ge=0,
        description="a message carries its document's texts while they total at most this (UTF-8); "
        "above, the texts (and offset map, figures) are kept once in Redis and the message refers to them",
    )
    reference_ttl_s: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="longest a referenced text is kept: deleted as soon as the last stage has acknowledged "
        "it, the expiry (renewed at every stage) only catches leftovers, so it must outlast any backlog",
    )
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    file_min_age_s: float = Field(default=1.0, ge=0, description="how long a file must stay unchanged")
    rescan_interval_s: float = Field(default=5.0, gt=0, description="periodic inbox rescan")
    reclaim_idle_ms: int = Field(
        default=60_000, ge=1_000, description="pending entries idle this long are claimed by another replica"
    )
    stalled_after_s: float = Field(
        default=120.0,
        gt=0,
        description="a stage with work waiting that has acknowledged (or started on) nothing this long "
        "is failing, for `wenming lag`",
    )
    processing_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="longest the logic of normalize or extract may spend on one document; "
        "a document that takes longer is dead-lettered as too slow",
    )
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="port of the stage's /metrics and /health (`wenming up`: this one and the next three, "
        "for ingest, normalize, extract and store); 0: none",
    )
    metrics_host: str = Field(
        default="0.0.0.0",
        min_length=1,
        description="address /metrics and /health listen on: every interface, as a container needs "
        "(`wenming up`: 127.0.0.1 unless set)",
    )
    reader_password: SecretStr | None = Field(
        default=None,
        description="password of the read-only wenming_reader role, set by the store as it starts; "
        "unset: the role cannot log in",
    )
    writer_password: SecretStr | None = Field(
        default=None,
        description="password of the store's wenming_writer role, set by `wenming migrate` (or a store "
        "connected as the database's owner); unset: the role is left as it is",
    )
    resolve_relative_years: bool = Field(
        default=False,
        description="give 今年/去年/前年 figures the year they mean, counted from the publication date",
    )

    @field_validator("redis_url", "database_url", "reader_password", "writer_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def require_redis_url(self) -> str:
        """The Redis URL, or a clear error for a stage that cannot run without a usable one."""
        if not self.redis_url:
            raise SettingsError(
                "WENMING_REDIS_URL is not set; give the Redis server, e.g. redis://127.0.0.1:6379/0"
            )
        problem = redis_url_problem(self.redis_url)
        if problem is not None:
            raise SettingsError(f"WENMING_REDIS_URL: {problem}")
        return self.redis_url

    def require_database_url(self) -> str:
        """The Postgres URL, or a clear error for a stage that cannot run without one."""
        if not self.database_url:
            raise SettingsError(
                "WENMING_DATABASE_URL is not set; give the Postgres database, "
                "e.g. postgresql://postgres@127.0.0.1:5432/wenming"
            )
        return self.database_url


class SettingsError(RuntimeError):
    """A required setting is missing or unusable."""
