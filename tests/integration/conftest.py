"""Real services for the integration suite: PostgreSQL, Redis, RabbitMQ and Celery worker processes.

PostgreSQL and Redis are the ones the URLs name, or throwaway servers the run started (tests/servers.py).
Outside CI a missing service skips these tests; under CI (``CI`` set) it fails them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from example_site.celery import app as celery_app
from example_site.serving import UVICORN_WEBSOCKET_OPTIONS
from tests.servers import RedisServer, ServerMissing, free_port, not_installed
from tests.services import service_missing

from .brokers import Broker, prepare_vhost, publishing_to

REPO = Path(__file__).resolve().parents[2]


# what starts the servers a run lacks: the Makefile's test targets load the plugin
STARTS_THEM = "run `make test-integration` or `make test-reliability`, or pytest with `-p tests.servers`"


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any) -> dict[str, str]:
    """URLs of the PostgreSQL test database and the Redis database the workers share with us."""
    missing_program = not_installed(request.config)
    if missing_program:
        service_missing(missing_program)
    broker = celery_app.conf.broker_url or ""
    if not broker.startswith("redis://"):
        service_missing(f"the Celery broker is not Redis: set TEST_CELERY_BROKER_URL, or {STARTS_THEM}")
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis does not answer at {broker}: {exc}")
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            service_missing(f"DATABASE_URL is not PostgreSQL (workers share its database): set it, or {STARTS_THEM}")
        params = connection.settings_dict
        database_url = (
            f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@{params['HOST'] or '127.0.0.1'}:"
            f"{params['PORT'] or 5432}/{params['NAME']}"
        )
    channels = os.environ.get("TEST_CHANNEL_REDIS_URL", "")
    if not channels.startswith("redis://"):
        service_missing(f"no Redis channel layer: set TEST_CHANNEL_REDIS_URL, or {STARTS_THEM}")
    return {"broker": broker, "database": database_url, "channels": channels}


@dataclass
class ManagedProcess:
    """A process the tests started in its own session, with its output in a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL it and its children at once, as an OOM killer or a lost machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def spawn(command: list[str], env: dict[str, str], log: Path, ready: str, what: str) -> subprocess.Popen[bytes]:
    """Start ``command`` and wait until its output shows ``ready``."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while ready not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    return process


@dataclass
class Worker(ManagedProcess):
    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def pids(self) -> list[int]:
        return [self.process.pid, *self.child_pids()]


def service_environment(services: dict[str, str], **env: str) -> dict[str, str]:
    """What a worker or server process needs to share the test's database, broker and layer."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": services["database"],
        "TEST_CELERY_BROKER_URL": services["broker"],
        "TEST_CELERY_RESULT_BACKEND": services["broker"],
        "TEST_CHANNEL_REDIS_URL": services["channels"],
        "PYTHONPATH": str(REPO),
        **env,
    }


@pytest.fixture
def broker(request: pytest.FixtureRequest, services: dict[str, str]) -> Iterator[Broker]:
    """The workers' broker: ``"redis"``, or ``"amqp"`` when a test parametrizes it (``indirect``).

    This process publishes to it too (tasks, revokes); results stay in Redis for both.
    """
    name = getattr(request, "param", "redis")
    if name == "redis":
        yield Broker("redis", services["broker"])
        return
    url = os.environ.get("TEST_AMQP_URL")
    if not url:  # no throwaway RabbitMQ: the amqp runs need one that is running
        service_missing("no RabbitMQ for the amqp runs: set TEST_AMQP_URL (`make`: INTEGRATION_AMQP_URL)")
    refused = prepare_vhost(url)  # once per session
    if refused:
        service_missing(f"{refused} (set TEST_AMQP_URL)")
    with publishing_to(celery_app, url):
        yield Broker(name, url)


@pytest.fixture
def start_worker(
    request: pytest.FixtureRequest, services: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., Worker]]:
    """Start ``celery worker`` processes (prefork, 2 children) against the test services.

    The broker is the test's ``broker`` fixture (Redis when it has none). An explicit
    ``TEST_CELERY_BROKER_URL`` in ``env`` wins, and that broker is the test's own: not purged.
    """
    # looked up, not required: tests/reliability imports start_worker but not the broker fixture
    has_broker = "broker" in request.fixturenames
    broker: Broker = request.getfixturevalue("broker") if has_broker else Broker("redis", services["broker"])
    started: list[Worker] = []

    def start(concurrency: int = 2, **env: str) -> Worker:
        redis.Redis.from_url(services["broker"]).flushdb()  # the results (with Redis, the messages too)
        if "TEST_CELERY_BROKER_URL" not in env:
            broker.purge(celery_app)
            env = {"TEST_CELERY_BROKER_URL": broker.url, **env}
        log = tmp_path / f"worker-{uuid.uuid4().hex[:8]}.log"
        command = [sys.executable, "-m", "celery", "-A", "example_site.celery:app", "worker", "-P", "prefork",
                   "-c", str(concurrency), "--without-gossip", "--without-mingle", "-l", "info",
                   "-n", f"test-{uuid.uuid4().hex[:8]}@%h"]  # fmt: skip
        worker = Worker(spawn(command, service_environment(services, **env), log, " ready.", "the Celery worker"), log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server(ManagedProcess):
    port: int = 0

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"


@pytest.fixture
def start_server(services: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start the example site under uvicorn (HTTP and websockets) against the test services."""
    started: list[Server] = []

    def start(port: int | None = None, **env: str) -> Server:
        port = port or free_port()
        log = tmp_path / f"server-{port}-{uuid.uuid4().hex[:6]}.log"
        command = [sys.executable, "-m", "uvicorn", "example_site.asgi:application", "--host", "127.0.0.1",
                   "--port", str(port), *UVICORN_WEBSOCKET_OPTIONS, "--no-access-log"]  # fmt: skip
        process = spawn(command, service_environment(services, **env), log, "Application startup complete", "uvicorn")
        server = Server(process, log, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    return start_server()


class PrivateRedis(RedisServer):
    """A Redis server this test may kill and restart (the suite's own Redis keeps the broker)."""


@pytest.fixture
def layer_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    try:
        private = PrivateRedis(tmp_path)
    except ServerMissing as exc:
        service_missing(str(exc))
    private.start()
    yield private
    if private.process and private.process.poll() is None:
        private.kill()


def session_cookie(user: Any) -> str:
    """A real session for ``user`` in the shared database: what a browser would send."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
