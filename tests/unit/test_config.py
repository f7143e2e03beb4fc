"""Settings: defaults run the embedded stack; bad values stop start-up naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.config import ConfigError, load_settings


def test_defaults_are_the_embedded_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "BACKGROUND_JOBS", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(DATA_DIR=str(tmp_path))
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'fleet.db'}"
    assert settings.redis_url is None and settings.background_jobs == "diskcache"
    assert settings.cache_dir == tmp_path / "cache"


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("BACKGROUND_JOBS", "rq", "'diskcache' or 'celery'"),
        ("PORT", "eighty", "integer"),
        ("PORT", "70000", "65535"),
        ("DEMO", "maybe", "true/false"),
        ("DATABASE_URL", "mysql://db/fleet", "postgresql+psycopg://"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("APP_ENV", "staging", "production"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(DATA_DIR=str(tmp_path))
    assert variable in str(raised.value)
    assert allowed in str(raised.value)


def test_secret_key_is_generated_once_in_development(tmp_path: Path) -> None:
    first = load_settings(DATA_DIR=str(tmp_path), SECRET_KEY=None).effective_secret_key
    again = load_settings(DATA_DIR=str(tmp_path), SECRET_KEY=None).effective_secret_key
    assert first == again and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_a_missing_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(DATA_DIR=str(tmp_path), APP_ENV="production", SECRET_KEY=None)


def test_celery_needs_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_settings(DATA_DIR=str(tmp_path), BACKGROUND_JOBS="celery")


def test_plain_postgres_url_uses_psycopg(tmp_path: Path) -> None:
    settings = load_settings(DATA_DIR=str(tmp_path), DATABASE_URL="postgresql://u@h/db")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db"
