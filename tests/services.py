"""A test that needs a service (Redis, PostgreSQL, RabbitMQ) which is not there, or whose server program
is not installed: skipped on a developer's machine, failed under CI (``CI`` set), where every service
must run."""

import os

import pytest


def service_missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"service missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)
