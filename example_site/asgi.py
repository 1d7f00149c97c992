"""ASGI entry point of the example site: Django for HTTP, GraphQL subscriptions on /graphql/."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")

django_application = get_asgi_application()

from example_site.demo.embedded import start_embedded_worker  # noqa: E402
from example_site.demo.schema import schema  # noqa: E402
from user_tasks_graphql.routing import user_tasks_application  # noqa: E402

application = user_tasks_application(schema, django_application)
start_embedded_worker()

# Everything loaded so far lives as long as the process: keep it out of the garbage collector's
# full passes, which otherwise stall a server holding many websockets for 100-200 ms at a time
# (bench/RESULTS.md, end-to-end latency).
gc.freeze()
