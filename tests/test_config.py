from __future__ import annotations

from pathlib import Path

import pytest

from fiblab import config

pytestmark = pytest.mark.unit


def test_sqlite_default_lives_in_the_scratch_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(config.DATABASE_URL_ENV, raising=False)
    url = config.database_url("nb01", config.scratch_dir("nb01", tmp_path))
    assert url == f"sqlite:///{tmp_path.resolve()}/scratch/nb01/{config.SQLITE_FILENAME}"
    assert (tmp_path / "scratch" / "nb01").is_dir()


def test_postgres_url_gets_a_database_per_name(monkeypatch) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://u:secret@127.0.0.1:5433/fiblab")
    url = config.database_url("05_crash-and.recovery")
    assert url == "postgresql://u:secret@127.0.0.1:5433/fiblab_05_crash_and_recovery"
    assert config.is_postgres(url)


def test_a_server_given_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://u@elsewhere/fiblab")
    url = config.database_url("09_scaling", server="postgresql://u@127.0.0.1:5433/fiblab")
    assert url == "postgresql://u@127.0.0.1:5433/fiblab_09_scaling"
    assert config.database_url("09_scaling", sqlite=True, server=url).startswith("sqlite:///")


def test_long_names_stay_distinct_within_postgres_limit(monkeypatch) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://u@h/fiblab")
    a = config.database_url("t" * 60 + "a").rsplit("/", 1)[1]
    b = config.database_url("t" * 60 + "b").rsplit("/", 1)[1]
    assert a != b and len(a) <= 63 and len(b) <= 63


def test_unsupported_env_url_is_rejected_without_leaking_the_password(monkeypatch) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, "mysql://u:hunter2@host/db")
    with pytest.raises(ValueError) as error:
        config.database_url("x")
    assert "hunter2" not in str(error.value)
    assert config.DATABASE_URL_ENV in str(error.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:hunter2@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert config.mask_url(url) == masked


@pytest.mark.parametrize("bad", ["", "a/b", "../up", "x" * 64, "sp ace", "-dash"])
def test_bad_names_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        config.check_name(bad)
