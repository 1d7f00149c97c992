"""Settings of the example site.

With nothing set it runs "embedded": SQLite, an in-memory broker and channel layer. Set
``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` for the production-like setup.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "user_tasks_graphql",
    "example_site.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "user_tasks_graphql.permissions.OwnerPermissionBackend",
]
CSRF_FAILURE_VIEW = "user_tasks_graphql.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "example_site.asgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'example_site.sqlite3'}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # the embedded worker writes from threads while the server reads: WAL and waiting, not "locked"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "example_site" / "frontend" / "dist"]
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_REDIRECT_URL = "/"
MEDIA_ROOT = os.environ.get("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))
MEDIA_URL = "media/"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Embedded mode (no Redis): the Celery worker runs in threads of the web server process.
EMBEDDED_WORKER = os.environ.get("EMBEDDED_WORKER", "1" if not REDIS_URL else "0") == "1"

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without it Celery closes the database connection before and after every task, so each tracked
# task opens a new one; reused, it is checked once per task (CONN_MAX_AGE, CONN_HEALTH_CHECKS above).
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# kombu's Redis transport, fixed: Celery 5.7's worker exited when Redis restarted under a task
# (docs/operations.md, "Broker restarts"). Only for redis:// URLs: it would replace any other scheme's.
CELERY_BROKER_TRANSPORT = (
    "user_tasks_graphql.adapters.kombu_redis:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
)
CELERY_BEAT_SCHEDULE = {
    "purge-old-user-tasks": {
        "task": "user_tasks_graphql.purge_old_user_tasks",
        "schedule": timedelta(hours=6),
    },
    "reap-stale-user-tasks": {
        "task": "user_tasks_graphql.reap_stale_user_tasks",
        "schedule": timedelta(minutes=1),
    },
}


def channel_layers(redis_url: str, kind: str = "", prefix: str = "") -> dict:
    """channels-redis when a Redis URL is given, else the in-memory layer (embedded mode).

    ``kind`` (``CHANNEL_LAYER``) picks channels-redis's layer: ``pubsub`` (the default: one PUBLISH
    per group, pushed to each server process) or ``core`` (queues in Redis, one round trip per
    message received). ``prefix`` (``CHANNEL_LAYER_PREFIX``) separates projects sharing one
    Redis: Redis pub/sub ignores the database number in the URL.
    """
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    kind = kind or os.environ.get("CHANNEL_LAYER", "pubsub")
    prefix = prefix or os.environ.get("CHANNEL_LAYER_PREFIX", "asgi")
    # redis-py 8 times idle reads out after 5 s and its pools refuse the 101st connection:
    # wait longer than channels-redis's 5 s blocking read, and allow many sockets.
    host = {"address": redis_url, "socket_timeout": 30, "max_connections": 2000}
    if kind == "pubsub":
        return {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [host], "prefix": prefix},
            }
        }
    if kind != "core":
        raise ValueError(f"CHANNEL_LAYER must be 'core' or 'pubsub', not {kind!r}")
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix, "capacity": 1000, "group_expiry": 7 * 24 * 3600},
        }
    }


CHANNEL_LAYERS = channel_layers(REDIS_URL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"user_tasks_graphql": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
