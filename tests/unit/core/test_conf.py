"""Settings: defaults, validation, and the artifact storage lookup order."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, InMemoryStorage, default_storage

from user_tasks_graphql.core import conf


def test_defaults():
    assert conf.max_age() == timedelta(days=30)


def test_storage_defaults_to_default_storage():
    assert conf.artifact_storage() is default_storage


def test_storage_from_import_path(settings: Any):
    settings.USER_TASKS_ARTIFACT_STORAGE = "django.core.files.storage.InMemoryStorage"
    assert isinstance(conf.artifact_storage(), InMemoryStorage)


def test_storages_alias_wins(settings: Any):
    settings.USER_TASKS_ARTIFACT_STORAGE = "django.core.files.storage.InMemoryStorage"
    settings.STORAGES = {
        **settings.STORAGES,
        "user_task_artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": "/tmp/tasks/images"},
        },
    }
    storage = conf.artifact_storage()
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == "/tmp/tasks/images"


@pytest.mark.parametrize("value", [0, -5, "soon", timedelta(0)])
def test_bad_durations_are_refused(settings: Any, value: Any):
    settings.USER_TASKS_MAX_AGE = value
    with pytest.raises(ImproperlyConfigured, match="USER_TASKS_MAX_AGE"):
        conf.max_age()


def test_heartbeat_must_be_well_inside_the_stale_window(settings: Any):
    settings.USER_TASKS_STALE_AFTER = 60
    settings.USER_TASKS_HEARTBEAT_INTERVAL = 45
    with pytest.raises(ImproperlyConfigured, match="at most half"):
        conf.heartbeat_interval()


def test_system_check_warns_without_the_owner_backend(settings: Any):
    from user_tasks_graphql.core.checks import owner_backend_configured

    assert owner_backend_configured() == []
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    [warning] = owner_backend_configured()
    assert warning.id == "user_tasks_graphql.W001"


@pytest.mark.parametrize(("value", "seconds"), [(0, 0.0), (0.25, 0.25), (timedelta(milliseconds=50), 0.05)])
def test_the_start_delay_may_be_zero(settings: Any, value: Any, seconds: float):
    settings.USER_TASKS_START_DELAY = value
    assert conf.start_delay() == seconds


@pytest.mark.parametrize("value", [-1, "soon"])
def test_a_bad_start_delay_is_refused(settings: Any, value: Any):
    settings.USER_TASKS_START_DELAY = value
    with pytest.raises(ImproperlyConfigured, match="USER_TASKS_START_DELAY"):
        conf.start_delay()


def test_status_writes_commit_synchronously_unless_told_otherwise(settings: Any):
    assert conf.synchronous_commit() is True
    settings.USER_TASKS_SYNCHRONOUS_COMMIT = False
    assert conf.synchronous_commit() is False


@pytest.mark.parametrize("value", ["off", 0, None])
def test_a_synchronous_commit_that_is_not_a_boolean_is_refused(settings: Any, value: Any):
    settings.USER_TASKS_SYNCHRONOUS_COMMIT = value
    with pytest.raises(ImproperlyConfigured, match="USER_TASKS_SYNCHRONOUS_COMMIT"):
        conf.synchronous_commit()


def test_the_system_check_reports_each_bad_setting(settings: Any):
    from user_tasks_graphql.core.checks import settings_valid

    assert settings_valid() == []
    settings.USER_TASKS_SYNCHRONOUS_COMMIT = "off"
    settings.USER_TASKS_START_DELAY = -1
    errors = settings_valid()
    assert {error.id for error in errors} == {"user_tasks_graphql.E001"}
    assert sorted(error.msg.split()[0] for error in errors) == [
        "USER_TASKS_START_DELAY",
        "USER_TASKS_SYNCHRONOUS_COMMIT",
    ]


DOCS = Path(__file__).resolve().parents[3] / "docs" / "settings.md"
DOCUMENTED_ROW = re.compile(r"^\| `(USER_TASKS_\w+)` \| ([^|]*?) \|", re.MULTILINE)


def _disagreements(page: str) -> list[str]:
    """Where a settings page and ``conf.SETTINGS`` differ: names on one side only, and defaults."""
    problems: list[str] = []
    documented: dict[str, str] = {}
    for name, cell in DOCUMENTED_ROW.findall(page):
        if name in documented:
            problems.append(f"{name} is documented twice")
        documented[name] = cell
    problems += [f"{name} is documented but not declared" for name in sorted(set(documented) - set(conf.SETTINGS))]
    problems += [f"{name} is declared but not documented" for name in sorted(set(conf.SETTINGS) - set(documented))]
    for name in sorted(set(documented) & set(conf.SETTINGS)):
        cell, default = documented[name], conf.SETTINGS[name].default
        if not (len(cell) > 2 and cell[0] == cell[-1] == "`"):
            problems.append(f"{name}: the documented default {cell!r} is not in backticks")
            continue
        if isinstance(default, conf.Derived):
            agree = cell[1:-1] == default.label
        else:
            value = eval(cell[1:-1], {"__builtins__": {}}, {"timedelta": timedelta})
            agree = value == default and isinstance(value, bool) == isinstance(default, bool)
        if not agree:
            problems.append(f"{name}: documented default {cell}, declared {getattr(default, 'label', default)!r}")
    return problems


def test_the_settings_page_matches_the_declared_settings():
    assert _disagreements(DOCS.read_text()) == []


def _row(page: str, name: str) -> str:
    [row] = [line for line in page.splitlines() if line.startswith(f"| `{name}` |")]
    return row


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda page: page.replace(_row(page, "USER_TASKS_WS_MAX_SUBSCRIPTIONS"), ""), "declared but not documented"),
        (lambda page: page + "\n| `USER_TASKS_FLUX` | `1` | Unknown. |\n", "documented but not declared"),
        (
            lambda page: page.replace(
                "| `USER_TASKS_GRAPHQL_MAX_PAGE_SIZE` | `100` |",
                "| `USER_TASKS_GRAPHQL_MAX_PAGE_SIZE` | `50` |",
            ),
            "documented default `50`",
        ),
        (lambda page: page.replace("`timedelta(minutes=10)`", "`timedelta(minutes=5)`"), "USER_TASKS_STALE_AFTER"),
        (lambda page: page.replace("| `DEBUG` |", "| `True` |"), "USER_TASKS_GRAPHQL_INTROSPECTION"),
    ],
)
def test_a_settings_page_that_disagrees_is_caught(edit: Any, problem: str):
    [found] = _disagreements(edit(DOCS.read_text()))
    assert problem in found


EXPECTED_DEFAULTS = [
    (conf.max_page_size, 100),
    (conf.max_depth, 10),
    (conf.max_tokens, 2000),
    (conf.max_aliases, 15),
    (conf.ws_max_subscriptions, 20),
    (conf.ws_init_timeout, 10.0),
    (conf.ws_max_message_bytes, 64 * 1024),
    (conf.ws_allowed_origins, []),
    (conf.ws_authenticate, None),
    (conf.visible_statuses_rule, None),
    (conf.group_refresh_interval, 3600.0),
]


@pytest.mark.parametrize(
    ("accessor", "expected"), EXPECTED_DEFAULTS, ids=[accessor.__name__ for accessor, _ in EXPECTED_DEFAULTS]
)
def test_unset_settings_read_as_their_defaults(settings: Any, accessor: Any, expected: Any):
    for name in conf.SETTINGS:
        if hasattr(settings, name):
            delattr(settings, name)
    assert accessor() == expected


def test_introspection_follows_debug_and_graphiql_follows_introspection(settings: Any):
    del settings.USER_TASKS_GRAPHQL_INTROSPECTION
    for debug in (False, True):
        settings.DEBUG = debug
        assert conf.introspection_allowed() is debug
        assert conf.graphiql() is debug
    settings.USER_TASKS_GRAPHQL_INTROSPECTION = False
    assert conf.graphiql() is False
    settings.USER_TASKS_GRAPHIQL = True
    assert conf.graphiql() is True


def test_hooks_are_imported_from_their_paths(settings: Any):
    from example_site.ws_tokens import websocket_user

    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    assert conf.ws_authenticate() is websocket_user


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USER_TASKS_GRAPHQL_MAX_PAGE_SIZE", -1),
        ("USER_TASKS_GRAPHQL_MAX_PAGE_SIZE", "100"),
        ("USER_TASKS_GRAPHQL_MAX_DEPTH", 0),
        ("USER_TASKS_GRAPHQL_MAX_TOKENS", 2.5),
        ("USER_TASKS_GRAPHQL_INTROSPECTION", "yes"),
        ("USER_TASKS_GRAPHIQL", 1),
        ("USER_TASKS_SYNCHRONOUS_COMMIT", "off"),
        ("USER_TASKS_WS_MAX_SUBSCRIPTIONS", True),
        ("USER_TASKS_WS_INIT_TIMEOUT", 0),
        ("USER_TASKS_WS_ALLOWED_ORIGINS", "http://localhost:5173"),
        ("USER_TASKS_WS_AUTHENTICATE", "example_site.ws_tokens.no_such_function"),
        ("USER_TASKS_VISIBLE_STATUSES", "user_tasks_graphql.core.conf.ARTIFACT_STORAGE_ALIAS"),
        ("USER_TASKS_ARTIFACT_STORAGE", 42),
    ],
)
def test_the_system_check_reports_a_bad_value_of_any_setting(settings: Any, name: str, value: Any):
    from user_tasks_graphql.core.checks import settings_valid

    setattr(settings, name, value)
    [error] = settings_valid()
    assert error.id == "user_tasks_graphql.E001"
    assert error.msg.startswith(f"{name} ")
    with pytest.raises(ImproperlyConfigured, match=name):
        conf.SETTINGS[name].read()


def test_a_bad_setting_read_through_another_is_reported_once(settings: Any):
    from user_tasks_graphql.core.checks import settings_valid

    settings.USER_TASKS_STALE_AFTER = "soon"  # the heartbeat's bound
    [error] = settings_valid()
    assert error.msg.startswith("USER_TASKS_STALE_AFTER ")
