"""Templates: the built-in Russian texts, an authority's overrides, and `config check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from domchat import app as app_mod
from domchat.domain import templates
from domchat.errors import ConfigError


def test_every_built_in_template_renders_with_what_domchat_passes() -> None:
    t = templates.load()
    for name, keys in templates.PLACEHOLDERS.items():
        text = t.render(name, **{k: f"<{k}>" for k in keys})
        assert all(f"<{k}>" in text for k in keys), name  # each value it is given is shown
        assert "$" not in text, name


def test_an_override_replaces_one_template(tmp_path: Path) -> None:
    (tmp_path / "card_no_manager.txt").write_text("Дом $address. Пишите: $authority_name", encoding="utf-8")
    t = templates.load(tmp_path)
    assert t.render("card_no_manager", address="ул. Мира, 1", authority_name="ГЖИ") == "Дом ул. Мира, 1. Пишите: ГЖИ"
    assert "Официальный чат дома" in t.render("card", address="a", org_name="b", org_phone="c", dispatch_phone="d", authority_name="e")


def test_an_override_with_a_value_domchat_does_not_pass_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "join_link.txt").write_text("Ссылка $link для $premises", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        templates.load(tmp_path)
    assert info.value.key == "chats.templates_dir: join_link.txt" and "$premises" in info.value.problem


def test_reasons_file_must_be_key_value(tmp_path: Path) -> None:
    (tmp_path / "reasons.txt").write_text("wrong_owner = чужой чат\nбез знака равенства\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        templates.load(tmp_path)


def test_config_check_names_a_bad_audit_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "audit.txt").write_text("reason.forced = $nobody\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[chats]\ntemplates_dir = "{tmp_path}"\n[audit]\nlang = "en"\n', encoding="utf-8")
    monkeypatch.setenv("DOMCHAT_MAX_TOKEN", "t")
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(ConfigError) as info:
        app_mod.check_config(config)
    assert info.value.key == "chats.templates_dir: audit.txt"  # overrides are Russian: checked whatever audit.lang is
