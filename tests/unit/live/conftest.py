from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


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


@pytest.fixture
def event_executions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The root values of every execution of a shared subscription event that really ran."""
    executed: list[Any] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_operation

    def execute_operation(self: Any, serially: bool | None = None) -> Any:
        if getattr(self.root_value, "shared_results", None) is not None:
            executed.append(self.root_value)
        return original(self, serially)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", execute_operation)
    return executed
