"""ASGI entry point of the example site: Django for HTTP, GraphQL subscriptions on /graphql/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")

django_application = get_asgi_application()

from user_tasks_graphql.routing import user_tasks_application  # noqa: E402
from user_tasks_graphql.schema import schema  # noqa: E402

application = user_tasks_application(schema, django_application)
