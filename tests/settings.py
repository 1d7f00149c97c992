"""Test settings: the example site plus a test app of sample tasks.

Unit tests publish to an in-memory broker (nothing runs unless a test makes Celery eager);
the integration suite sets ``TEST_CELERY_BROKER_URL`` to Redis (or, for the worker tests' amqp
runs, RabbitMQ: tests/integration/brokers.py) and starts real workers.
"""

import os
import tempfile

from example_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("TEST_CELERY_RESULT_BACKEND", "cache+memory://")
# as in the example site (docs/operations.md, "Broker restarts"), for the URL chosen here
CELERY_BROKER_TRANSPORT = (
    "user_tasks_graphql.adapters.kombu_redis:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
)
CELERY_TASK_ALWAYS_EAGER = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # a file, as the embedded mode uses: a writer waits for another thread's transaction (the
    # in-memory database's shared cache refuses it at once with "database table is locked")
    test_file = os.path.join(tempfile.gettempdir(), f"user-tasks-tests-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": test_file}  # noqa: F405

CHANNEL_LAYERS = channel_layers(os.environ.get("TEST_CHANNEL_REDIS_URL", ""))  # noqa: F405
CELERY_BEAT_SCHEDULE = {}

MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="user-tasks-media-")

USER_TASKS_STALE_AFTER = float(os.environ.get("TEST_USER_TASKS_STALE_AFTER", "600"))
USER_TASKS_HEARTBEAT_INTERVAL = float(os.environ.get("TEST_USER_TASKS_HEARTBEAT_INTERVAL", "30"))
USER_TASKS_PUBLISH_RETRY_AFTER = float(os.environ.get("TEST_USER_TASKS_PUBLISH_RETRY_AFTER", "2"))
USER_TASKS_PROGRESS_INTERVAL = float(os.environ.get("TEST_USER_TASKS_PROGRESS_INTERVAL", "0.2"))
USER_TASKS_WATERMARK_INTERVAL = float(os.environ.get("TEST_USER_TASKS_WATERMARK_INTERVAL", "30"))
USER_TASKS_WS_INIT_TIMEOUT = float(os.environ.get("TEST_USER_TASKS_WS_INIT_TIMEOUT", "10"))
USER_TASKS_WS_AUTHENTICATE = os.environ.get("TEST_USER_TASKS_WS_AUTHENTICATE") or None

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_TASK_ACKS_LATE = os.environ.get("TEST_CELERY_ACKS_LATE", "1") == "1"

# the load tests and benchmarks stand many browsers in with one account
USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = None

# on for the fuzz tests (hypothesis-graphql reads the schema); a server started with "0" runs as production does
USER_TASKS_GRAPHQL_INTROSPECTION = os.environ.get("TEST_GRAPHQL_INTROSPECTION", "1") == "1"
EMBEDDED_WORKER = False
