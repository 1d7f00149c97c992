"""Fixtures shared by the unit and integration suites."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from example_site.celery import app as celery_app


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Close what threads and child processes left open, so the test database can be dropped."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user("test_user", "test@example.com", "password")


@pytest.fixture
def other_user(db: Any) -> Any:
    return get_user_model().objects.create_user("other_user", "other@example.com", "password")


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "password")


@pytest.fixture
def nobody_listens() -> Iterator[None]:
    """No ``user_task_stopped`` receiver (the test app connects one)."""
    from tests.testapp.receivers import stops_unrecorded

    with stops_unrecorded():
        yield


@pytest.fixture
def eager() -> Iterator[None]:
    """Run tasks inline, as ``CELERY_TASK_ALWAYS_EAGER`` does."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, False
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved
