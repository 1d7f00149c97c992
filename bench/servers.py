"""Processes the benchmarks start and watch: a uvicorn server of the bench project, CPU and memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from bench.harness import REPO
from example_site.serving import UVICORN_WEBSOCKET_OPTIONS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    """The benchmark's test database, for the processes it starts."""
    params = connection.settings_dict
    return (
        f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@{params['HOST'] or '127.0.0.1'}:"
        f"{params['PORT'] or 5432}/{params['NAME']}"
    )


def bench_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url(),
        "PYTHONPATH": str(REPO),
        **extra,
    }


def start_server(port: int, **env: str) -> subprocess.Popen[bytes]:
    """One uvicorn process serving the bench project (our GraphQL and django-user-tasks' REST API)."""
    profile = os.environ.get("BENCH_PROFILE_SERVER")  # a path: profile the server with cProfile
    command = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []), "-m", "uvicorn",
               "example_site.asgi:application", "--port", str(port), *UVICORN_WEBSOCKET_OPTIONS, "--no-access-log",
               "--log-level", "warning", *os.environ.get("BENCH_SERVER_ARGS", "").split()]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=bench_environment(**env), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    stop(process)
    raise RuntimeError("uvicorn did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, and its children."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT if os.environ.get("BENCH_PROFILE_SERVER") else signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@contextlib.contextmanager
def running_server(**env: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = start_server(port, **env)
    try:
        yield port, process
    finally:
        stop(process)


def websocket_target(port: int, cookie: str) -> tuple[str, dict[str, str]]:
    """The GraphQL websocket of the server on ``port``, and the handshake headers of a logged-in tab
    of the same origin (the session cookie)."""
    return f"ws://127.0.0.1:{port}/graphql/", {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={cookie}"}


def running_status(user_id: int, name: str) -> Any:
    """A status In Progress that never runs out of steps, for a producer to publish events of."""
    from user_tasks_graphql.models import UserTaskStatus

    return UserTaskStatus.objects.create(user_id=user_id, task_id=str(uuid.uuid4()), task_class=f"bench.{name}",
                                         name=name, total_steps=10**9, state="In Progress")  # fmt: skip


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def session_cookie(username: str) -> str:
    """A new user and a logged-in session for it in the benchmark database."""
    user = get_user_model().objects.create_user(username)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
