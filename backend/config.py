"""Settings read once from environment variables, validated at start-up."""

from __future__ import annotations

import json
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
    # Tracker-app requests (/osmand) a minute: per device id, and per client address (generous:
    # many phones share one carrier NAT address).
    osmand_rate_per_device: int = Field(
        default=120, ge=1, le=100_000, alias="OSMAND_RATE_PER_DEVICE"
    )
    osmand_rate_per_address: int = Field(
        default=1200, ge=1, le=1_000_000, alias="OSMAND_RATE_PER_ADDRESS"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL"
    )
    # Position frames a second to each dashboard socket: enough for a smooth map, and the cap
    # that keeps a busy fleet from costing every browser a frame per fix.
    ws_fanout_max_fps: float = Field(default=10.0, gt=0, le=100, alias="WS_FANOUT_MAX_FPS")
    # Other origins whose pages may open /ws with the login cookie (comma-separated
    # scheme://host[:port]); the app's own host is always allowed.
    ws_allowed_origins: str = Field(default="", alias="WS_ALLOWED_ORIGINS")
    # Dispatch: a vehicle silent this long (minutes) is greyed "last seen N min ago" (Traccar: 10).
    vehicle_silent_after_min: float = Field(
        default=10.0, gt=0, le=24 * 60, alias="VEHICLE_SILENT_AFTER_MIN"
    )
    # An order created for a day whose plan is in force goes straight into a route by the
    # insertion fast path (done stops untouched), when its creator may plan; off: it waits
    # in the unassigned pool for the next optimization.
    auto_insert_new_orders: bool = Field(default=True, alias="AUTO_INSERT_NEW_ORDERS")
    # Dispatch: an OSRM server (http://host:5000) whose `route` service draws routes on roads;
    # unset, routes are drawn as straight lines between their stops.
    osrm_url: str | None = Field(default=None, alias="OSRM_URL")
    # None: Secure in production (HTTPS there), plain elsewhere so http://127.0.0.1 logins work.
    session_cookie_secure: bool | None = Field(default=None, alias="SESSION_COOKIE_SECURE")
    # Every request body (Dash callbacks, login, API); 1 MiB is far above any real callback.
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=256 * 1024 * 1024, alias="MAX_REQUEST_BYTES"
    )
    # Trained model artifacts are also uploaded to this S3 bucket when set (needs boto3).
    ml_s3_bucket: str | None = Field(default=None, alias="ML_S3_BUCKET")
    # Analytics targets (the original design's); each KPI card and chart shows its target.
    target_cost_per_mile: float = Field(default=1.20, gt=0, alias="TARGET_COST_PER_MILE")
    target_on_time_rate: float = Field(default=0.98, gt=0, le=1, alias="TARGET_ON_TIME_RATE")
    target_fleet_utilization: float = Field(
        default=0.90, gt=0, le=1, alias="TARGET_FLEET_UTILIZATION"
    )
    target_planning_minutes: float = Field(default=1.0, gt=0, alias="TARGET_PLANNING_MINUTES")
    target_mpg: float = Field(default=7.8, gt=0, alias="TARGET_MPG")
    target_rating: float = Field(default=4.8, ge=1, le=5, alias="TARGET_RATING")
    # Scheduled analytics: once a day has closed (ANALYTICS_REFRESH_HOUR, local time, in every
    # depot's time zone) the aggregates are refreshed and then the retention job runs; off here.
    analytics_schedule: bool = Field(default=True, alias="ANALYTICS_SCHEDULE")
    analytics_refresh_hour: int = Field(default=2, ge=0, le=23, alias="ANALYTICS_REFRESH_HOUR")
    analytics_schedule_poll_s: float = Field(
        default=60.0, ge=1, le=3600, alias="ANALYTICS_SCHEDULE_POLL_S"
    )
    # Position retention: raw fixes for POSITION_RAW_DAYS, then a thinned track (one fix per
    # POSITION_TRACK_INTERVAL_S and every heading change of POSITION_HEADING_CHANGE_DEG or more)
    # until POSITION_TRACK_DAYS, then only the daily aggregates.
    position_raw_days: int = Field(default=30, ge=1, le=3650, alias="POSITION_RAW_DAYS")
    position_track_days: int = Field(default=365, ge=1, le=36500, alias="POSITION_TRACK_DAYS")
    position_track_interval_s: float = Field(
        default=30.0, gt=0, le=3600, alias="POSITION_TRACK_INTERVAL_S"
    )
    position_heading_change_deg: float = Field(
        default=15.0, ge=0, le=180, alias="POSITION_HEADING_CHANGE_DEG"
    )
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000, alias="RETENTION_BATCH_SIZE")

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

    @field_validator("osrm_url")
    @classmethod
    def _osrm_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else None

    @field_validator("ws_allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        for origin in origins:
            scheme, _, host = origin.partition("://")
            if scheme not in ("http", "https") or not host or "/" in host:
                raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
        return ",".join(origins)

    @property
    def allowed_ws_origins(self) -> frozenset[str]:
        """WS_ALLOWED_ORIGINS as a set (empty: only the app's own host)."""
        return frozenset(filter(None, self.ws_allowed_origins.split(",")))

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("SECRET_KEY must be set when APP_ENV=production")
        if self.position_track_days <= self.position_raw_days:
            raise ValueError("POSITION_TRACK_DAYS must be greater than POSITION_RAW_DAYS")
        if self.background_jobs == "celery" and not self.redis_url:
            raise ValueError("BACKGROUND_JOBS=celery needs REDIS_URL (the Celery broker)")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file under DATA_DIR."""
        return self.database_url or f"sqlite:///{self.data_dir / 'fleet.db'}"

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie is sent over HTTPS only (SESSION_COOKIE_SECURE)."""
        if self.session_cookie_secure is None:
            return self.env == "production"
        return self.session_cookie_secure

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


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, for a job process started by this one.

    A job reads its settings from its own environment (never from its payload or arguments,
    which Celery stores in Redis and `ps` shows); this is how a subprocess gets that
    environment when the parent's settings were given in code rather than in the environment.
    """
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json", by_alias=True, exclude_none=True).items():
        if isinstance(value, bool):
            env[name] = "true" if value else "false"
        elif isinstance(value, list | dict):
            env[name] = json.dumps(value)
        else:
            env[name] = str(value)
    return env


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
