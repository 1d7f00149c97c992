"""Settings: defaults, validation, and the artifact storage lookup order."""

from datetime import timedelta
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
