from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model


@pytest.fixture
def application() -> Any:
    from example_site.asgi import application

    return application


@pytest.fixture
async def alice(transactional_db: Any) -> Any:
    return await sync_to_async(get_user_model().objects.create_user)("alice", password="x")


@pytest.fixture
async def bob(transactional_db: Any) -> Any:
    return await sync_to_async(get_user_model().objects.create_user)("bob", password="x")
