"""Settings: every key documented in config.example.toml, and every bad value named precisely."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path

import pytest

from domchat import settings
from domchat.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_documents_every_setting_and_nothing_else() -> None:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    hints = typing.get_type_hints(settings.Settings)
    sections = {name for name in hints if name != "source"}
    assert set(raw) == sections
    for name in sections:
        fields = {f.name for f in dataclasses.fields(hints[name])}
        assert set(raw[name]) == fields, name


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "domchat.toml"
    p.write_text(body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("[region]\ncode = 86\n", "region.code", "must be a string"),
        ('[region]\ncode = "8"\n', "region.code", "two-digit"),
        ("[regoin]\n", "regoin", "unknown section"),
        ("[max]\nrate_limt = 3\n", "max.rate_limt", "unknown key"),
        ("[max]\nrate_limit = 0\n", "max.rate_limit", "greater than 0"),
        ("[max]\nrate_limit = true\n", "max.rate_limit", "must be a number"),
        ("[sync]\nmax_removal_share = 1.5\n", "sync.max_removal_share", "between 0 and 1"),
        ('[region]\ndefault_tz = "Europe/Atlantis"\n', "region.default_tz", "unknown time zone"),
        ('[region]\nlicensees = ["12345"]\n', "region.licensees", "not an OGRN"),
        ('[max]\ntoken_file = "nowhere/token"\n', "max.token_file", "no such file"),
        ('[chats]\nstaff_permissions = ["write"]\n', "chats.staff_permissions", "need read_all_messages"),
        ('[chats]\nstaff_permissions = ["read_all_messages", "add_admins"]\n', "chats.staff_permissions", "never get add_admins"),
        ('[gis]\nsigner = "command"\n', "gis.signer_command", "required"),
        ('[gis]\nschemas_dir = "empty"\n', "gis.schemas_dir", "not a GIS ZhKH integration package"),
        ("[gis]\npoll_schedule = []\n", "gis.poll_schedule", "at least one"),
        ('[logging]\nlevel = "loud"\n', "logging.level", "must be debug"),
        ("not toml = = 1", "--config", "not valid TOML"),
        ('[gis]\ntimeout = "slow"\n', "gis.timeout", "must be a number, got a string"),
        ("[gis]\nmax_in_flight = 2.5\n", "gis.max_in_flight", "must be an integer, got a number"),
        ("[gis]\npull_contracts = 1\n", "gis.pull_contracts", "must be true or false, got an integer"),
        ('[gis]\npoll_schedule = [1, "x"]\n', "gis.poll_schedule[1]", "must be a number, got a string"),
        ('[gis]\nsigner_command = "sign"\n', "gis.signer_command", "must be a list, got a string"),
        ("max = 3\n", "max", "must be a table ([max])"),
        ("[source]\n", "source", "unknown section"),
        ('[database]\nurl = "postgresql+psycopg://dom:hunter2@db/dom"\n', "database.url", "carries a password"),
        ('[gis]\nendpoint = "https://stand:hunter2@sit01.dom.gosuslugi.ru"\n', "gis.endpoint", "carries a password"),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path: Path, body: str, key: str, problem: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as info:
        settings.load(_write(tmp_path, body), env={})
    assert info.value.key == key
    assert problem in info.value.problem


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n", encoding="utf-8")
    s = settings.load(_write(tmp_path, '[max]\ntoken_file = "token"\n'), env={})
    assert s.max.token_file == tmp_path / "token"
    assert s.max_token(env={}).reveal() == "s3cret"


def test_secrets_come_from_files_or_environment_and_never_print(tmp_path: Path) -> None:
    s = settings.load(_write(tmp_path, '[gis]\nusername = "stand"\n'), env={})
    with pytest.raises(ConfigError, match="DOMCHAT_MAX_TOKEN"):
        s.max_token(env={})
    with pytest.raises(ConfigError, match=r"gis\.password_file"):
        s.gis_password(env={})
    token = s.max_token(env={"DOMCHAT_MAX_TOKEN": "abc123"})
    assert token.reveal() == "abc123"
    assert "abc123" not in repr(token) and "abc123" not in str(token) and "abc123" not in f"{token}"


def test_database_password_is_filled_in_and_redacted(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("p@ss", encoding="utf-8")
    s = settings.load(_write(tmp_path, '[database]\nurl = "postgresql+psycopg://dom@db/dom"\npassword_file = "pw"\n'), env={})
    url = s.database_url(env={})
    assert "p%40ss" in url
    assert "p%40ss" not in settings.redact_url(url) and "***" in settings.redact_url(url)


def test_environment_database_url_overrides(tmp_path: Path) -> None:
    s = settings.load(_write(tmp_path, ""), env={})
    assert s.database_url(env={"DOMCHAT_DATABASE_URL": "sqlite:///x.db"}) == "sqlite:///x.db"


def test_config_from_environment_variable(tmp_path: Path) -> None:
    p = _write(tmp_path, '[region]\ncode = "77"\n')
    assert settings.load(None, env={"DOMCHAT_CONFIG": str(p)}).region.code == "77"


def test_empty_string_unsets_an_optional_setting(tmp_path: Path) -> None:
    s = settings.load(_write(tmp_path, '[max]\ntoken_file = ""\n[gis]\nusername = ""\n'), env={})
    assert s.max.token_file is None and s.gis.username == ""


def test_a_password_in_a_url_is_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        settings.load(_write(tmp_path, '[database]\nurl = "postgresql+psycopg://dom:hunter2@db/dom"\n'), env={})
    assert "hunter2" not in str(info.value)
    assert "DOMCHAT_DATABASE_PASSWORD" in str(info.value)


def test_every_section_is_checked_like_the_others() -> None:
    # A section added as a plain dataclass would skip the field checks and accept unknown keys.
    hints = typing.get_type_hints(settings.Settings)
    for name, cls in hints.items():
        if name != "source":
            assert issubclass(cls, settings._Section), name
            assert cls.__pydantic_config__.get("extra") == "forbid", name
