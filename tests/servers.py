"""Throwaway PostgreSQL and Redis for the real-process suites, when no URL names running ones.

A pytest plugin (``-p tests.servers``, as the Makefile's test targets load it). When a run reaches
tests/integration or tests/reliability and ``DATABASE_URL`` or the Redis URLs are not given, it starts
the missing servers from the installed programs, in a temporary directory on free ports, and puts
their URLs in the environment *before* Django reads its settings. From there they are used exactly as
given URLs are: by the settings (the test database, Celery, the channel layer), so by this process, and
by every worker and server a test spawns (``service_environment`` passes the environment on). They
stop when the run ends, and the kernel stops them if the run is killed.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis

REPO = Path(__file__).resolve().parents[1]
SUITES = (REPO / "tests" / "integration", REPO / "tests" / "reliability")
DATABASE = "DATABASE_URL"
BROKER, RESULTS, LAYER = "TEST_CELERY_BROKER_URL", "TEST_CELERY_RESULT_BACKEND", "TEST_CHANNEL_REDIS_URL"
# Debian's postgresql package keeps initdb and postgres off PATH, in one directory per major version
DEBIAN_POSTGRES = "/usr/lib/postgresql/*/bin"
STARTUP_SECONDS = 60
# loaded now: a forked child about to exec should not have to load a library
LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None

SERVERS = pytest.StashKey["Throwaways"]()
PROBLEM = pytest.StashKey[str]()


class ServerMissing(Exception):
    """A server program that is not installed: the message says which package brings it."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def major_version(directory: str) -> int:
    name = Path(directory).parent.name  # /usr/lib/postgresql/15/bin
    return int(name) if name.isdigit() else 0


def search_path() -> list[str]:
    """``PATH``, then Debian's PostgreSQL directories, the newest major version first."""
    versions = sorted(glob.glob(DEBIAN_POSTGRES), key=major_version, reverse=True)
    return [*os.environ.get("PATH", os.defpath).split(os.pathsep), *versions]


def find_program(name: str, package: str, instead: str, search: Iterable[str]) -> str:
    found = shutil.which(name, path=os.pathsep.join(search))
    if found is None:
        raise ServerMissing(
            f"`{name}` is not installed (looked on PATH and in {DEBIAN_POSTGRES}): install the Debian package "
            f"`{package}` (apt-get install {package}), or set {instead} to a running server"
        )
    return found


def die_with_parent(signum: int) -> None:
    """Run in the child before exec: the kernel sends ``signum`` when the run dies, even by SIGKILL."""
    if LIBC is not None:
        LIBC.prctl(1, signum)  # PR_SET_PDEATHSIG


def launch(command: list[str], log: Path, signum: int, owner: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
    """Start a server in its own session (a Ctrl-C reaches the run, which stops it after its tests)."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, cwd=log.parent, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=functools.partial(die_with_parent, signum),
            user=owner.pw_uid if owner else None, group=owner.pw_gid if owner else None,
            extra_groups=[] if owner else None,
        )  # fmt: skip


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.05)


def end(process: subprocess.Popen[bytes] | None, signum: int) -> None:
    """Ask ``process`` to stop with ``signum``; kill it if it has not within 30 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class RedisServer:
    """A ``redis-server`` on a free port, without persistence; :meth:`start` again reuses the port."""

    def __init__(self, directory: Path) -> None:
        self.program = find_program("redis-server", "redis-server", f"{BROKER} and {LAYER}", search_path())
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.database(0)

    def database(self, number: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{number}"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        command = [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.directory)]  # fmt: skip
        log = self.directory / f"redis-{self.port}.log"
        self.process = launch(command, log, signal.SIGTERM, None)
        wait_until(self.answers, self.process, log, "redis-server")

    def kill(self) -> None:  # its data is gone, as after a crash
        assert self.process is not None
        self.process.kill()
        self.process.wait(5)

    def stop(self) -> None:
        end(self.process, signal.SIGTERM)


def unprivileged_owner() -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: this user, or as root (which PostgreSQL refuses) the package's ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServerMissing(
            "PostgreSQL does not run as root and there is no `postgres` user: install the Debian package "
            f"`postgresql` (apt-get install postgresql, it creates one), or set {DATABASE} to a running server"
        ) from None


class PostgresServer:
    """A cluster made by ``initdb`` in ``directory``, served on a free port and a socket in the directory."""

    def __init__(self, directory: Path) -> None:
        self.initdb = find_program("initdb", "postgresql", DATABASE, search_path())
        # the server of the same version as initdb (PATH may name a link to it)
        self.postgres = find_program("postgres", "postgresql", DATABASE, [str(Path(self.initdb).resolve().parent)])
        self.owner = unprivileged_owner()
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The database Django names its test database after (``test_user_tasks``): never created itself."""
        return f"postgres://postgres@127.0.0.1:{self.port}/user_tasks"

    def answers(self) -> bool:
        try:
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def start(self) -> None:
        if self.owner:
            os.chown(self.directory, self.owner.pw_uid, self.owner.pw_gid)
        log, data = self.directory / "postgres.log", str(self.directory / "data")
        initdb = launch([self.initdb, "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                         "--no-locale", "--no-sync"], log, signal.SIGKILL, self.owner)  # fmt: skip
        if initdb.wait(STARTUP_SECONDS):
            raise RuntimeError(f"initdb failed:\n{log.read_text(errors='replace')[-4000:]}")
        # durability is of no use to a database dropped at the end of the run
        self.process = launch([self.postgres, "-D", data, "-p", str(self.port), "-h", "127.0.0.1",
                               "-k", str(self.directory), "-c", "fsync=off", "-c", "synchronous_commit=off",
                               "-c", "full_page_writes=off"], log, signal.SIGQUIT, self.owner)  # fmt: skip
        wait_until(self.answers, self.process, log, "PostgreSQL")

    def stop(self) -> None:
        end(self.process, signal.SIGINT)  # a fast shutdown: it disconnects whoever is still there


@dataclass
class Throwaways:
    """The servers a run started and the URLs it put in the environment for them."""

    directory: Path
    servers: list[PostgresServer | RedisServer] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:  # a second call finds nothing to do
        while self.servers:
            self.servers.pop().stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_missing(environ: MutableMapping[str, str]) -> Throwaways | None:
    """Start the servers ``environ`` names no URL for and set those URLs in it; ``None`` when all are given.

    Raises :class:`ServerMissing` before starting anything when a program is not installed.
    """
    absent = {name for name in (DATABASE, BROKER, LAYER) if not environ.get(name)}
    if not absent:
        return None
    run = Throwaways(Path(tempfile.mkdtemp(prefix="user-tasks-servers-")))
    try:
        postgres = PostgresServer(run.directory) if DATABASE in absent else None
        redis_server = RedisServer(run.directory) if absent & {BROKER, LAYER} else None
        for server in (postgres, redis_server):
            if server is not None:
                run.servers.append(server)
                server.start()
        if postgres is not None:
            run.urls[DATABASE] = postgres.url
        if redis_server is not None and BROKER in absent:  # the results beside it, as the Makefile has them
            run.urls[BROKER] = redis_server.database(0)
            run.urls[RESULTS] = environ.get(RESULTS) or run.urls[BROKER]
        if redis_server is not None and LAYER in absent:
            run.urls[LAYER] = redis_server.database(1)
    except BaseException:
        run.stop()
        raise
    environ.update(run.urls)
    return run


def run_paths(config: pytest.Config) -> list[Path]:
    """The paths this run collects from, as pytest decides them (arguments, else ``testpaths``)."""
    here = config.invocation_params.dir
    given = [argument.split("::")[0] for argument in config.known_args_namespace.file_or_dir]
    if given:
        return [(here / argument).resolve() for argument in given]
    if here == config.rootpath:
        return [config.rootpath / path for path in config.getini("testpaths")] or [here]
    return [here]


def reaches_suites(paths: Iterable[Path], suites: Iterable[Path] = SUITES) -> bool:
    """Whether a run of ``paths`` collects tests of the real-process suites."""
    return any(path.is_relative_to(suite) or suite.is_relative_to(path) for path in paths for suite in suites)


def not_installed(config: pytest.Config) -> str | None:
    return config.stash.get(PROBLEM, None)  # why the servers the run needed could not start


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    """Before pytest-django loads the settings (in this hook), so they read the URLs set here."""
    namespace = early_config.known_args_namespace
    run = None
    if not (namespace.help or namespace.version) and reaches_suites(run_paths(early_config)):
        try:
            run = start_missing(os.environ)
        except ServerMissing as exc:
            early_config.stash[PROBLEM] = str(exc)
    if run is not None:
        early_config.stash[SERVERS] = run
        early_config.add_cleanup(run.stop)
    try:
        return (yield)
    except BaseException:
        if run is not None:  # no cleanup runs for a configuration that failed
            run.stop()
        raise


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(SERVERS, None)
    if run is None:
        return []
    urls = ", ".join(f"{name}={url}" for name, url in sorted(run.urls.items()))
    return [f"throwaway servers in {run.directory}: {urls}"]
