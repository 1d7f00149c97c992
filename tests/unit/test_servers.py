"""The real-process suites' throwaway servers (tests/servers.py): when they start, on which ports, what
a run without the programs is told (and that CI fails on it), and that nothing outlives the run.

The tests that start servers need the programs (PostgreSQL's and Redis's Debian packages)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import redis

from tests import servers
from tests.servers import BROKER, DATABASE, LAYER, RESULTS, ServerMissing, Throwaways
from tests.services import service_missing

REPO = Path(__file__).resolve().parents[2]
URLS = (DATABASE, BROKER, RESULTS, LAYER)


class EarlyConfig:
    """What the plugin reads of pytest's configuration before the conftests load."""

    def __init__(self, *args: str, here: Path = REPO, asks_help: bool = False) -> None:
        self.known_args_namespace = SimpleNamespace(file_or_dir=list(args), help=asks_help, version=0)
        self.invocation_params = SimpleNamespace(dir=here)
        self.rootpath = REPO
        self.stash = pytest.Stash()
        self.cleanups: list[Callable[[], None]] = []

    def getini(self, name: str) -> list[str]:
        assert name == "testpaths"
        return ["tests"]

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        self.cleanups.append(cleanup)

    def finish(self) -> None:
        while self.cleanups:
            self.cleanups.pop()()


def configure(config: Any) -> Generator[None, None, None]:
    """Run the plugin's hook up to where pytest-django would load the settings."""
    hook = servers.pytest_load_initial_conftests(config)
    next(hook)
    return hook


@pytest.fixture
def no_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the URLs given (restored after the test, whatever the plugin set)."""
    for name in URLS:
        monkeypatch.setenv(name, "")


@pytest.fixture
def installed() -> None:
    try:
        servers.find_program("initdb", "postgresql", DATABASE, servers.search_path())
        servers.find_program("redis-server", "redis-server", BROKER, servers.search_path())
    except ServerMissing as exc:
        service_missing(str(exc))


def refuses(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_a_free_port_is_one_nothing_listens_on():
    port = servers.free_port()
    assert refuses(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("program", "package", "instead"),
    [("initdb", "postgresql", DATABASE), ("redis-server", "redis-server", f"{BROKER} and {LAYER}")],
)
def test_a_program_not_installed_names_the_debian_package_to_install(
    tmp_path: Path, program: str, package: str, instead: str
):
    with pytest.raises(ServerMissing) as missing:
        servers.find_program(program, package, instead, [str(tmp_path)])
    assert f"apt-get install {package}" in str(missing.value)
    assert f"or set {instead} to a running server" in str(missing.value)


def test_postgres_comes_from_debians_newest_version_when_not_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for version in ("9", "13", "15"):  # 15 after 9: compared as numbers
        program = tmp_path / "postgresql" / version / "bin" / "initdb"
        program.parent.mkdir(parents=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(servers, "DEBIAN_POSTGRES", str(tmp_path / "postgresql" / "*" / "bin"))
    found = servers.find_program("initdb", "postgresql", DATABASE, servers.search_path())
    assert found == str(tmp_path / "postgresql" / "15" / "bin" / "initdb")


@pytest.mark.parametrize(
    ("arguments", "here", "reaches"),
    [
        ((), REPO, True),  # testpaths: tests
        (("tests/unit",), REPO, False),
        (("tests/unit/test_servers.py::test_x",), REPO, False),
        (("tests/reliability/test_load.py::test_x",), REPO, True),
        (("tests/unit", "tests/integration"), REPO, True),
        (("../integration",), REPO / "tests" / "unit", True),
        ((), REPO / "tests" / "unit", False),  # below the root: pytest collects where it runs
    ],
)
def test_the_servers_start_only_for_runs_that_reach_the_real_process_suites(
    arguments: tuple[str, ...], here: Path, reaches: bool
):
    assert servers.reaches_suites(servers.run_paths(EarlyConfig(*arguments, here=here))) is reaches


def test_given_urls_start_nothing(tmp_path: Path):
    environ = {DATABASE: "postgres://postgres@db:5432/test", BROKER: "redis://r:6379/14", LAYER: "redis://r:6379/13"}
    assert servers.start_missing(environ) is None
    assert environ == {DATABASE: "postgres://postgres@db:5432/test", BROKER: "redis://r:6379/14",
                       LAYER: "redis://r:6379/13"}  # fmt: skip


@pytest.mark.parametrize("under_ci", [True, False])
def test_programs_not_installed_fail_the_run_under_ci_and_skip_its_tests_elsewhere(
    no_urls: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, under_ci: bool
):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(servers, "DEBIAN_POSTGRES", str(tmp_path / "postgresql" / "*" / "bin"))
    monkeypatch.setenv("CI", "1" if under_ci else "")
    config = EarlyConfig("tests/integration")
    with pytest.raises(StopIteration):
        configure(config).send(None)
    assert [os.environ[name] for name in URLS] == ["", "", "", ""], "nothing started"
    reason = servers.not_installed(config)
    assert reason is not None
    assert "apt-get install postgresql" in reason
    outcome = pytest.fail.Exception if under_ci else pytest.skip.Exception
    with pytest.raises(outcome) as raised:
        service_missing(reason)
    assert "apt-get install postgresql" in str(raised.value)


def test_a_run_starts_its_own_servers_and_leaves_nothing_behind(no_urls: None, installed: None):
    config = EarlyConfig("tests/reliability/test_load.py")
    hook = configure(config)
    run: Throwaways = config.stash[servers.SERVERS]
    urls = {name: os.environ[name] for name in URLS}
    assert urls == run.urls
    assert urls[RESULTS] == urls[BROKER] != urls[LAYER]
    ports = {port_of(urls[DATABASE]), port_of(urls[BROKER])}
    assert len(ports) == 2
    assert not ports & {5432, 6379}, "not the default services"
    with psycopg.connect(urls[DATABASE].rsplit("/", 1)[0] + "/postgres") as connection:
        data = connection.execute("SHOW data_directory").fetchone()
    assert data is not None
    assert Path(data[0]).parent == run.directory, "a cluster of its own"
    assert redis.Redis.from_url(urls[LAYER]).config_get("dir")["dir"] == str(run.directory)
    processes = [server.process for server in run.servers]
    with pytest.raises(StopIteration):
        hook.send(None)
    config.finish()
    assert [process.poll() is not None for process in processes] == [True, True]
    assert not run.directory.exists()
    assert all(refuses(port) for port in ports)


def test_a_configuration_that_fails_stops_the_servers_at_once(
    no_urls: None, installed: None, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(DATABASE, "postgres://postgres@127.0.0.1:5432/given")
    config = EarlyConfig("tests/integration")
    hook = configure(config)
    run: Throwaways = config.stash[servers.SERVERS]
    assert [type(server) for server in run.servers] == [servers.RedisServer], "only what was missing"
    assert os.environ[DATABASE] == "postgres://postgres@127.0.0.1:5432/given"
    port = port_of(os.environ[BROKER])
    with pytest.raises(RuntimeError, match="settings"):
        hook.throw(RuntimeError("the settings did not load"))
    assert refuses(port)
    assert not run.directory.exists()


KILLED_RUN = """
import json, os, sys, time
from tests.servers import start_missing
environ = {}
run = start_missing(environ)
print(json.dumps({"directory": str(run.directory), **environ}), flush=True)
time.sleep(120)
"""


@pytest.fixture
def killed_run(installed: None) -> Iterator[dict[str, Any]]:
    """A run that started the servers, then was killed (SIGKILL: no cleanup of its own ran)."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    started = json.loads(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    yield started
    shutil.rmtree(started["directory"])


def test_the_servers_die_with_a_killed_run(killed_run: dict[str, Any]):
    ports = [port_of(killed_run[DATABASE]), port_of(killed_run[BROKER])]
    deadline = time.monotonic() + 15
    while not all(refuses(port) for port in ports):
        assert time.monotonic() < deadline, "a server outlived the run that started it"
        time.sleep(0.1)
