"""ASGI wiring in one line: HTTP to Django, the websocket at ``/graphql/`` to our consumer.

# asgi.py
django_application = get_asgi_application()   # first: it sets Django up
from user_tasks_graphql.routing import user_tasks_application
from myproject.schema import schema
application = user_tasks_application(schema, django_application)
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path

from .consumers import UserTasksConsumer, consumer_options
from .origins import OriginCheck


def websocket_application(schema: Any, path: str = r"^graphql/?$") -> Any:
    """The websocket side alone: the Origin check (``origins``), session auth, the GraphQL consumer."""
    consumer = UserTasksConsumer.as_asgi(schema=schema, **consumer_options())
    return OriginCheck(AuthMiddlewareStack(URLRouter([re_path(path, consumer)])))


def user_tasks_application(schema: Any, django_application: Any, path: str = r"^graphql/?$") -> ProtocolTypeRouter:
    return ProtocolTypeRouter({"http": django_application, "websocket": websocket_application(schema, path)})
