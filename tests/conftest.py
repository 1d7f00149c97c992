"""Fixtures shared by the unit and integration suites."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from example_site.celery import app as celery_app


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
def eager() -> Iterator[None]:
    """Run tasks inline, as ``CELERY_TASK_ALWAYS_EAGER`` does."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, False
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved
