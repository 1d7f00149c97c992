"""The brokers the worker tests run against: Redis and RabbitMQ (AMQP).

A :class:`Broker` empties its queues before a worker starts, so runs do not mix, and can close
a worker's broker connections from the server side, to test that the worker reconnects.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
from amqp.exceptions import NotAllowed
from celery import Celery
from kombu import Connection, pools

BROKERS = ("redis", "amqp")
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/user-tasks-tests"


def amqp_url() -> str:
    return os.environ.get("TEST_AMQP_URL") or DEFAULT_AMQP_URL


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path[1:]) or "/"


def rabbitmqctl(*args: str) -> str:
    """Run ``rabbitmqctl`` (the management-free way to reach the broker's admin side)."""
    command = shutil.which("rabbitmqctl")
    if command is None:
        raise RuntimeError("rabbitmqctl is not on PATH")
    done = subprocess.run([command, "-q", *args], capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _connection_error(url: str) -> Exception | None:
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure means "not usable"; the message says why
        return exc
    return None


@functools.cache
def prepare_vhost(url: str) -> str | None:
    """Create the URL's vhost if RabbitMQ says it is missing (idempotent); ``None`` when usable, else why not."""
    error = _connection_error(url)
    if isinstance(error, NotAllowed):  # 530: no such vhost, or no permission on it
        user = unquote(urlsplit(url).username or "guest")
        try:
            rabbitmqctl("add_vhost", vhost_of(url))
            rabbitmqctl("set_permissions", "-p", vhost_of(url), user, ".*", ".*", ".*")
        except (RuntimeError, subprocess.SubprocessError) as exc:
            return f"RabbitMQ refuses {url} ({error}) and its vhost could not be created: {exc}"
        error = _connection_error(url)
    if error is None:
        return None
    return f"RabbitMQ does not accept {url}: {type(error).__name__}: {error}"


@contextlib.contextmanager
def publishing_to(app: Celery, url: str) -> Iterator[None]:
    """Make this process publish (tasks, revokes) to ``url`` instead of the settings' broker.

    The URL's scheme picks the transport: the settings may name one for their Redis broker.
    """

    def reset_pools() -> None:
        # Celery keeps its pools for the URL it first saw; it drops them the same way after a fork.
        pools.reset()
        vars(app)["_pool"] = None
        vars(app.amqp)["_producer_pool"] = None

    saved = {"broker_url": app.conf.broker_url, "broker_transport": app.conf.broker_transport}
    reset_pools()
    app.conf.update(broker_url=url, broker_transport=None)
    if app.conf.broker_url != url:
        raise RuntimeError("CELERY_BROKER_URL in the environment overrides the tests' broker: unset it")
    try:
        yield
    finally:
        reset_pools()
        app.conf.update(saved)


def _socket_inodes(pids: Iterable[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    return inodes


def local_ports(pids: Iterable[int], remote_port: int) -> set[int]:
    """The local ports of the TCP connections ``pids`` hold to ``remote_port`` (from /proc, no psutil)."""
    inodes = _socket_inodes(pids)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


@dataclass(frozen=True)
class Broker:
    """One broker of the parametrization: ``name`` is the test id, ``url`` what the worker uses."""

    name: str
    url: str

    def purge(self, app: Celery) -> None:
        """Drop every message a previous run left (queued, unacked, scheduled)."""
        if self.name == "redis":
            redis.Redis.from_url(self.url).flushdb()
            return
        with Connection(self.url, connect_timeout=3) as connection:
            app.control.purge(connection=connection)

    def close_connections(self, pids: Iterable[int]) -> int:
        """Close, from the server side, every broker connection ``pids`` hold; return how many."""
        port = urlsplit(self.url).port or (6379 if self.name == "redis" else 5672)
        ports = local_ports(pids, port)
        if self.name == "redis":
            client = redis.Redis.from_url(self.url)
            ids = [c["id"] for c in client.client_list() if int(c["addr"].rsplit(":", 1)[1]) in ports]
            return sum(int(client.client_kill_filter(_id=i)) for i in ids)
        listing = rabbitmqctl("list_connections", "-p", vhost_of(self.url), "--no-table-headers", "pid", "peer_port")
        closed = 0
        for line in listing.splitlines():
            pid, peer_port = line.split()
            if int(peer_port) in ports:
                rabbitmqctl("close_connection", pid, "test: closed by the integration suite")
                closed += 1
        return closed
