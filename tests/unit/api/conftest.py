from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_other(other_user: Any) -> Client:
    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def as_superuser(superuser: Any) -> Client:
    client = Client()
    client.force_login(superuser)
    return client
