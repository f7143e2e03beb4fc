"""Settings read once from environment variables, validated at start-up."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "var"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Everything the app reads from the environment (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    env: Literal["development", "production", "test"] = Field(
        default="development", alias="APP_ENV"
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, alias="DATA_DIR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    secret_key: str | None = Field(default=None, alias="SECRET_KEY")
    background_jobs: Literal["diskcache", "celery"] = Field(
        default="diskcache", alias="BACKGROUND_JOBS"
    )
    demo: bool = Field(default=True, alias="DEMO")
    demo_seed: int = Field(default=7, alias="DEMO_SEED")
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8050, ge=1, le=65535, alias="PORT")
    db_pool_size: int = Field(default=5, ge=1, le=200, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, le=500, alias="DB_MAX_OVERFLOW")
    db_statement_timeout_ms: int = Field(default=15000, ge=0, alias="DB_STATEMENT_TIMEOUT_MS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL"
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if value and value.startswith("postgresql://"):
            # SQLAlchemy would pick psycopg2, which we do not ship.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("SECRET_KEY must be set when APP_ENV=production")
        if self.background_jobs == "celery" and not self.redis_url:
            raise ValueError("BACKGROUND_JOBS=celery needs REDIS_URL (the Celery broker)")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file under DATA_DIR."""
        return self.database_url or f"sqlite:///{self.data_dir / 'fleet.db'}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def cache_dir(self) -> Path:
        """Where diskcache keeps the result cache and background-job state."""
        return self.data_dir / "cache"

    @cached_property
    def effective_secret_key(self) -> str:
        """SECRET_KEY, or in development one generated once and kept under DATA_DIR."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise ConfigError naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err.get("loc") or ()
            field = str(loc[0]) if loc else ""
            variable = _ALIASES.get(field, field.upper()) if field else "settings"
            allowed = err.get("ctx", {}).get("expected")
            if err.get("type") == "bool_parsing":
                allowed = "true/false, 1/0, yes/no"
            hint = f" (allowed: {allowed})" if allowed and allowed not in err["msg"] else ""
            problems.append(f"{variable}: {err['msg']}{hint}")
        raise ConfigError("Invalid configuration: " + "; ".join(problems)) from None


_ALIASES = {name: (info.alias or name.upper()) for name, info in Settings.model_fields.items()}
_ALIASES.update({alias: alias for alias in list(_ALIASES.values())})
