"""``manage.py import_django_user_tasks``: what this pytest session can show (django-user-tasks is not
installed here, so its tables are missing), and the tests against django-user-tasks itself.

Those (tests/importing) need ``user_tasks`` installed and migrated, and its Celery signal handlers
must stay out of this pytest session: they run in a child pytest under tests.settings_importing, once on
a throwaway SQLite file and once on a throwaway PostgreSQL database ``test_import_<random>`` that
the child creates and drops (and this test drops again if the child could not).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

from tests.services import service_missing
from user_tasks_graphql.core.importing import map_state
from user_tasks_graphql.core.states import UserTaskState

ROOT = Path(__file__).resolve().parents[2]
CHILD_TESTS = ROOT / "tests" / "importing"
CHILD_TIMEOUT = 300
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.mark.django_db
def test_without_django_user_tasks_tables_the_command_stops_with_what_to_do():
    with pytest.raises(CommandError) as missing:
        call_command("import_django_user_tasks")
    assert str(missing.value) == (
        "django-user-tasks' tables are missing from database 'default' (user_tasks_usertaskstatus, "
        "user_tasks_usertaskartifact), and 'user_tasks' is not in INSTALLED_APPS: nothing to import from this "
        "database. Run the command with DATABASES pointing at the database django-user-tasks wrote to (its "
        "tables stay there after the app is removed)."
    )


@pytest.mark.parametrize("size", ["0", "10001", "many"])
def test_a_batch_size_out_of_range_is_refused(size: str):
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("import_django_user_tasks", "--batch-size", size)


@pytest.mark.parametrize("state", list(UserTaskState))
def test_the_six_states_map_to_themselves(state: UserTaskState):
    assert map_state(state.value) == (state, "")


def test_any_other_state_was_set_state_text_of_a_running_task():
    assert map_state("Exporting section 3") == (UserTaskState.IN_PROGRESS, "Exporting section 3")
    assert map_state("") == (UserTaskState.IN_PROGRESS, "")
    assert map_state("x" * 300) == (UserTaskState.IN_PROGRESS, "x" * 255)


def run_child(tmp_path: Path, database_url: str, test_database: str) -> None:
    """tests/importing in a child pytest; every test of every file there must pass, none skipped."""
    report = tmp_path / "junit.xml"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_importing",
        "DATABASE_URL": database_url,
        "IMPORT_TEST_DATABASE": test_database,
        "TEST_MEDIA_ROOT": str(tmp_path / "media"),
    }
    command = [sys.executable, "-m", "pytest", str(CHILD_TESTS), "-p", "no:cacheprovider", "-q"]
    command += ["--ds=tests.settings_importing", f"--junitxml={report}"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    assert result.returncode == 0, f"the import tests failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0"), result.stdout
    modules = {case.get("classname") for case in suite.iter("testcase")}
    assert modules == {f"tests.importing.{path.stem}" for path in CHILD_TESTS.glob("test_*.py")}


def test_the_import_against_django_user_tasks_on_sqlite(tmp_path: Path):
    run_child(tmp_path, f"sqlite:///{tmp_path / 'import.sqlite3'}", str(tmp_path / "test-import.sqlite3"))


def postgres_server() -> str:
    """The PostgreSQL of ``DATABASE_URL`` when it names one, else the local one CI provides."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else LOCAL_POSTGRES


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def maintenance_connection(server: str) -> Any:
    try:
        return psycopg.connect(with_database(server, "postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL is not reachable for the import tests: {exc}")


def test_the_import_against_django_user_tasks_on_postgresql(tmp_path: Path):
    server = postgres_server()
    name = f"test_import_{secrets.token_hex(4)}"
    with maintenance_connection(server) as connection:
        try:
            run_child(tmp_path, with_database(server, name), name)
        finally:  # normally already dropped by the child; gone for sure
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert found is None
