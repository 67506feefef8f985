"""Audit reasons: stored as stable keys with values, read in Russian (or English), old free text as stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from domchat.domain import reasons
from domchat.domain.reasons import PARAMS, because, joined
from domchat.errors import ConfigError

RU = reasons.load("ru")
EN = reasons.load("en")

# One stored example per key, with its Russian reading.
EXAMPLES: dict[str, tuple[str, str]] = {
    "manager": (
        because("manager", org="1027700000001", since="2026-01-01", bases="contract", documents=["C-1", "C-2"]),
        "управляет организация ОГРН 1027700000001 с 2026-01-01 (contract: C-1, C-2)",
    ),
    "conflict": (
        because("conflict", day="2026-03-01", orgs=["1027700000001", "1027700000002"]),
        "2026-03-01 дом заявляют одновременно: 1027700000001, 1027700000002; права администраторов заморожены",
    ),
    "no_manager": (because("no_manager"), "сейчас домом никто не управляет"),
    "ex_staff": (because("ex_staff", org="1027700000001"), "сотрудник организации ОГРН 1027700000001, которая сейчас не управляет домом"),
    "manager_staff": (because("manager_staff", org="1027700000001"), "сотрудник управляющей организации ОГРН 1027700000001"),
    "authority_account": (because("authority_account"), "учётная запись органа власти"),
    "admin_drift": (because("admin_drift"), "права администратора никто не выдавал (расхождение)"),
    "admin_drift_reported": (because("admin_drift_reported"), "права администратора никто не выдавал (расхождение, только отчёт)"),
    "member_drift": (because("member_drift"), "участник без права на участие (расхождение)"),
    "member_drift_reported": (because("member_drift_reported"), "участник без права на участие (расхождение, только отчёт)"),
    "ex_resident": (because("ex_resident", grant="G-4"), "житель, чьё право доступа G-4 больше не действует"),
    "members_authority": (because("members_authority"), "право на участие: учётные записи органа власти"),
    "members_staff": (because("members_staff"), "право на участие: сотрудники управляющей организации"),
    "members_residents": (because("members_residents"), "право на участие: жители с действующим правом доступа"),
    "title_from_address": (because("title_from_address"), "название по адресу дома"),
    "building_card": (because("building_card"), "карточка дома"),
    "gave_up": (because("gave_up", attempts=5, detail="HTTP 500"), "отказ после 5 попыток: HTTP 500"),
    "late": (
        because("late", delay="3 days, 0:00:00", due="2026-03-01T00:00:00+03:00"),
        "с опозданием на 3 days, 0:00:00 (срок 2026-03-01T00:00:00+03:00)",
    ),
    "settled_done": (because("settled_done"), "выполнено до прерывания; подтверждено по состоянию чата"),
    "settled_obsolete": (because("settled_obsolete"), "после прерывания больше не требуется"),
    "not_a_member": (because("not_a_member"), "не участник чата: платформа отказалась его добавить"),
    "platform_refused": (because("platform_refused", users=["5 (privacy)"]), "платформа отказалась добавить: 5 (privacy)"),
    "answer_to_update": (because("answer_to_update"), "ответ на событие в MAX"),
    "code_attempts": (because("code_attempts", failures=5), "5 неверных кодов в этом чате"),
    "code_unknown": (because("code_unknown"), "код неизвестен, использован или заменён"),
    "code_expired": (because("code_expired", at="2026-02-01"), "срок действия кода истёк 2026-02-01"),
    "owner_unreadable": (because("owner_unreadable", detail="HTTP 503"), "не удалось узнать владельца чата: HTTP 503"),
    "owner_not_authority": (because("owner_not_authority", owner="77"), "владелец чата 77 не является учётной записью органа власти"),
    "building_bound": (because("building_bound"), "к дому уже привязан чат"),
    "chat_bound": (because("chat_bound"), "чат уже привязан к другому дому"),
    "code_posted": (because("code_posted", by="77"), "код привязки отправил пользователь 77"),
    "guess_limit_user": (
        because("guess_limit_user", failures=21, user="77", window="1 day, 0:00:00", what="a binding code", until="2026-11-22"),
        "21 неверных кодов привязки или неизвестных ссылок от пользователя 77 за 1 day, 0:00:00: бот не отвечает ему до 2026-11-22",
    ),
    "guess_limit_all": (
        because("guess_limit_all", failures=200, window="1 day, 0:00:00", what="a binding code", until="2026-11-22"),
        "200 неверных кодов привязки или неизвестных ссылок от всех вместе за 1 day, 0:00:00: бот не отвечает на них до 2026-11-22",
    ),
    "bot_removed": (because("bot_removed"), "бота удалили из чата: он больше не может поддерживать чат"),
    "bot_back": (because("bot_back"), "бот снова в привязанном чате"),
    "enrol_link_unknown": (because("enrol_link_unknown"), "ссылка для сотрудника неизвестна или уже использована"),
    "enrol_link_expired": (because("enrol_link_expired", at="2026-02-01"), "срок действия ссылки для сотрудника истёк 2026-02-01"),
    "link_issued_by": (because("link_issued_by", by="ivanov"), "персональную ссылку выдал ivanov"),
    "invitation_not_staff": (because("invitation_not_staff"), "запросил не сотрудник текущей управляющей организации дома"),
    "invitation_asked": (
        because("invitation_asked"),
        "персональное приглашение запросил сотрудник управляющей организации (хранится только хеш)",
    ),
    "invitation_unknown": (because("invitation_unknown"), "приглашение неизвестно, использовано или заменено"),
    "invitation_expired": (because("invitation_expired", at="2026-02-01"), "срок действия приглашения истёк 2026-02-01"),
    "grant_not_active": (because("grant_not_active", grant="G-1", status="revoked"), "право доступа G-1 в состоянии «revoked»"),
    "join_link_sent": (because("join_link_sent", code="privacy"), "отправлена ссылка для вступления (privacy)"),
    "resident_left": (because("resident_left"), "вышел из чата сам"),
    "gis_unavailable": (
        because("gis_unavailable", detail="timeout"),
        "ГИС ЖКХ недоступна: timeout; планирование продолжается по сохранённым данным",
    ),
    "pull_partial": (
        because("pull_partial", detail="organisations: timeout"),
        "часть загрузки из ГИС ЖКХ не удалась: organisations: timeout; сохранённые сведения о ней остаются",
    ),
    "record_skipped": (because("record_skipped", what="contract", ident="C-9", why="no dates"), "запись пропущена: contract C-9: no dates"),
    "tz_assumed": (because("tz_assumed", tz="Europe/Moscow"), "часовой пояс принят Europe/Moscow: ГИС ЖКХ не дала пригодного OlsonTZ"),
    "from_gis": (because("from_gis"), "по данным ГИС ЖКХ"),
    "empty_answer_kept": (
        because("empty_answer_kept", basis="licence", org="1027700000001", stored=12),
        "ГИС ЖКХ не вернула сведений (licence) для ОГРН 1027700000001, ранее было 12; сохранены до --force",
    ),
    "documents": (because("documents", basis="contract", documents=["C-1"]), "contract: C-1"),
    "grant_unknown_building": (because("grant_unknown_building", grant="G-1"), "право доступа G-1: дома нет в сохранённых данных ГИС ЖКХ"),
    "grant_unstorable": (
        because("grant_unstorable", grant="G-1", problem="premises too long"),
        "право доступа G-1 не может быть сохранено: premises too long",
    ),
    "grant_from": (because("grant_from", grant="G-1", source="file"), "право доступа G-1 из источника file"),
    "cycle_events": (because("cycle_events", first=10, last=14), "записи этого цикла — между 10 и 14"),
    "notice": (because("notice", kind="payment_due"), "напоминание жителям (payment_due)"),
    "notice_expired": (
        because("notice_expired", notice="n-1", until="2026-12-10"),
        "напоминание n-1 не отправлено: его последний полезный день 2026-12-10 прошёл",
    ),
    "notices_building": (because("notices_building", kind="meeting", building="b-1"), "напоминания вида meeting в доме b-1"),
    "notices_region": (because("notices_region", kind="meeting"), "напоминания вида meeting во всём регионе"),
    "fuse": (
        because("fuse", count=30, total=40, what="members", share="75%", limit="20%"),
        "план лишает прав или участия 30 из 40 (members, 75%) при пороге 20%",
    ),
    "forced": (because("forced"), "выполнено по --force"),
    "conflict_frozen": (
        because("conflict_frozen", day="2026-03-01", orgs=["1027700000001", "1027700000002"]),
        "2026-03-01 дом заявляют одновременно: 1027700000001, 1027700000002; права администраторов оставлены как есть",
    ),
    "codes_issued": (because("codes_issued"), "выданы коды привязки (хранятся только хеши)"),
    "enrol_link_issued": (because("enrol_link_issued"), "выдана персональная ссылка для сотрудника (хранится только хеш)"),
    "invitations_issued": (because("invitations_issued"), "выданы персональные ссылки-приглашения (хранятся только хеши)"),
}


def test_every_key_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(PARAMS)


@pytest.mark.parametrize("key", sorted(PARAMS))
def test_each_key_reads_in_russian(key: str) -> None:
    stored, russian = EXAMPLES[key]
    assert RU.reason(stored) == russian
    assert EN.reason(stored) != stored  # English has a text of its own for every key too


def test_parts_read_one_after_another() -> None:
    stored = joined(because("ex_staff", org="1"), because("manager", org="2", since="2026-01-01", bases="licence", documents=[]))
    assert (
        RU.reason(stored)
        == "сотрудник организации ОГРН 1, которая сейчас не управляет домом; управляет организация ОГРН 2 с 2026-01-01 (licence: )"
    )


def test_values_holding_separators_stay_in_their_part() -> None:
    stored = joined(because("owner_unreadable", detail='bad; worse {"x": 1}'), because("forced"))
    assert RU.reason(stored) == 'не удалось узнать владельца чата: bad; worse {"x": 1}; выполнено по --force'


@pytest.mark.parametrize(
    "free_text",
    ["binding code posted by 77", "authority account", "grant G-1 from file", "", "error", "forced; left the chat on their own"],
)
def test_free_text_of_older_events_is_shown_as_stored(free_text: str) -> None:
    assert RU.reason(free_text) == free_text


def test_a_key_with_the_wrong_values_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="takes"):
        because("ex_staff", grant="G-1")
    with pytest.raises(ValueError, match="no_such_key"):
        because("no_such_key")


def test_action_and_outcome_names_read_in_russian_unknown_ones_as_they_are() -> None:
    assert RU.action("grant_admin") == "выдача прав администратора"
    assert RU.outcome("refused") == "отказано"
    assert RU.action("something.new") == "something.new"


def test_an_authority_may_word_reasons_its_own_way(tmp_path: Path) -> None:
    builtin = (Path(reasons.__file__).parents[1] / "templates" / "ru" / "audit.txt").read_text(encoding="utf-8")
    (tmp_path / "audit.txt").write_text(
        builtin.replace("reason.forced = выполнено по --force", "reason.forced = по решению оператора"), "utf-8"
    )
    assert reasons.load("ru", tmp_path).reason(because("forced")) == "по решению оператора"
    assert reasons.load("en", tmp_path).reason(because("forced")) == "went ahead: --force"  # overrides are Russian


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("reason.forced = выполнено по --force\n", ""), "no text for reason.forced"),
        (lambda t: t.replace("ОГРН $org с $since", "ОГРН $org с $start"), r"reason.manager: unknown placeholder \$start"),
        (lambda t: t + "forced = x\n", "expected 'reason.KEY = text'"),
    ],
)
def test_a_bad_override_names_the_problem(tmp_path: Path, change: object, problem: str) -> None:
    builtin = (Path(reasons.__file__).parents[1] / "templates" / "ru" / "audit.txt").read_text(encoding="utf-8")
    (tmp_path / "audit.txt").write_text(change(builtin), "utf-8")  # type: ignore[operator]
    with pytest.raises(ConfigError, match=problem):
        reasons.load("ru", tmp_path)


def test_an_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must be one of ru, en"):
        reasons.load("de")
