"""Bench settings: the test project plus django-user-tasks and DRF, to measure both side by side."""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "user_tasks"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
DEBUG = False
USER_TASKS_GRAPHQL_INTROSPECTION = False
# the throughput workloads publish thousands of tasks for one user
USER_TASKS_MAX_ACTIVE_PER_USER = None

CHANNEL_LAYERS = channel_layers(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))  # noqa: F405
# a real broker and result backend: the throughput workload runs a worker, and celery-progress's
# endpoint reads the progress its recorder stored from another process
BENCH_CELERY_URL = os.environ.get("BENCH_CELERY_URL", "redis://127.0.0.1:6379/7")
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", BENCH_CELERY_URL)
CELERY_RESULT_BACKEND = os.environ.get("TEST_CELERY_RESULT_BACKEND", BENCH_CELERY_URL)
# django-user-tasks' object permissions (its detail endpoint) come from django-rules.
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "rules.permissions.ObjectPermissionBackend"]  # noqa: F405
# the throughput workload runs a second worker with the status writes' commits asynchronous
USER_TASKS_SYNCHRONOUS_COMMIT = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "on") != "off"
