"""Smoke test of the installed wheel (``make package``): a throwaway Django project uses it as a
project would, with nothing of the source tree in reach.

Run it with the Python of a virtualenv that has only the wheel (and its dependencies) installed,
from a directory outside the source tree: it writes the project there (SQLite, the app, an
in-memory channel layer, Celery eager) and runs, each in its own process, the steps a project's
first day runs. Optional argument: an SDL file the exported schema must equal. Exits 1 at the
first step that fails, with its output.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

STEP_TIMEOUT = 120  # seconds: a step that hangs (a thread keeping the process alive) fails

SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "smoke-test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "user_tasks_graphql",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "smoke_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "smoke.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = BASE_DIR / "media"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "user_tasks_graphql.permissions.OwnerPermissionBackend",
]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
"""

FILES = {
    "manage.py": """\
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smoke_site.settings")
execute_from_command_line(sys.argv)
""",
    "smoke_site/__init__.py": "from .celery import app as celery_app\n",
    "smoke_site/settings.py": SETTINGS,
    "smoke_site/celery.py": """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smoke_site.settings")
app = Celery("smoke_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
""",
    "smoke_site/urls.py": """\
from django.contrib import admin
from django.urls import include, path

from user_tasks_graphql.schema import schema
from user_tasks_graphql.views import graphql_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", graphql_view(schema)),
    path("user-tasks/", include("user_tasks_graphql.urls")),
]
""",
    "smoke_site/asgi.py": """\
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smoke_site.settings")
django_application = get_asgi_application()

from user_tasks_graphql.routing import user_tasks_application  # noqa: E402
from user_tasks_graphql.schema import schema  # noqa: E402

application = user_tasks_application(schema, django_application)
""",
    "smoke_site/tasks.py": """\
from celery import shared_task

from user_tasks_graphql.models import UserTaskArtifact
from user_tasks_graphql.tasks import UserTask


class CountTask(UserTask):
    @classmethod
    def generate_name(cls, arguments_dict):
        return f"Count to {arguments_dict['count']}"

    @staticmethod
    def calculate_total_steps(arguments_dict):
        return arguments_dict["count"]


@shared_task(base=CountTask, bind=True)
def count_to(self, user_id, count):
    for number in range(1, count + 1):
        self.status.set_state(f"Counting {number}")
        self.status.increment_completed_steps()
    UserTaskArtifact.objects.create(status=self.status, name="tally", text=f"counted to {count}")
    return count
""",
    # one task published eagerly, its status read back from the model and over GraphQL
    "run_task.py": """\
import json
import os

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "smoke_site.settings"
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

import smoke_site.asgi  # noqa: E402, F401  (the websocket routing imports and builds)
from smoke_site.tasks import count_to  # noqa: E402
from user_tasks_graphql.tasks import status_for  # noqa: E402

user = get_user_model().objects.create_user("smoke")
result = count_to.delay(user.pk, 3)
assert result.get() == 3, result.get()
status = status_for(result)
row = (status.name, status.state, status.completed_steps, status.total_steps, status.user_id)
assert row == ("Count to 3", "Succeeded", 3, 3, user.pk), row
assert [artifact.text for artifact in status.artifacts.all()] == ["counted to 3"]

client = Client()
client.force_login(user)
query = (
    "query($uuid: UUID!) { userTaskStatus(uuid: $uuid) {"
    " name state completedSteps totalSteps artifacts { text } } }"
)
response = client.post(
    "/graphql/", {"query": query, "variables": {"uuid": str(status.uuid)}}, content_type="application/json"
)
body = response.json()
assert response.status_code == 200, (response.status_code, body)
expected = {"name": "Count to 3", "state": "SUCCEEDED", "completedSteps": 3, "totalSteps": 3,
            "artifacts": [{"text": "counted to 3"}]}
assert body == {"data": {"userTaskStatus": expected}}, body
print(f"task {status.task_id}: {status.state}, {status.completed_steps}/{status.total_steps} steps;",
      "over GraphQL:", json.dumps(body["data"]["userTaskStatus"]))
""",
}


def installed_package() -> Path:
    """Where ``user_tasks_graphql`` imports from: it must be this virtualenv's, not a source tree."""
    spec = importlib.util.find_spec("user_tasks_graphql")
    if spec is None or spec.origin is None:
        sys.exit("FAIL: user_tasks_graphql is not installed")
    package = Path(spec.origin).resolve().parent
    if Path(sys.prefix).resolve() / "lib" not in package.parents:
        sys.exit(f"FAIL: user_tasks_graphql imports from {package}, not from this virtualenv ({sys.prefix})")
    if not (package / "py.typed").is_file():
        sys.exit(f"FAIL: {package} has no py.typed")
    return package


def run(name: str, project: Path, *args: str) -> str:
    """One step in its own process; its output on failure, its duration on success."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, *args], cwd=project, capture_output=True, text=True, timeout=STEP_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:  # its output is bytes, whatever text=True says
        output = b"".join(part for part in (exc.stdout, exc.stderr) if isinstance(part, bytes))
        sys.exit(f"FAIL: {name}: still running after {STEP_TIMEOUT} s\n{output.decode(errors='replace')}")
    if done.returncode != 0:
        sys.exit(f"FAIL: {name} (exit {done.returncode})\n{done.stdout}{done.stderr}")
    print(f"  ok  {name} ({time.monotonic() - start:.1f} s)")
    return done.stdout


def main() -> None:
    here = Path.cwd()
    project = here / "project"
    if (here / "pyproject.toml").exists() or (here / "user_tasks_graphql").exists():
        sys.exit(f"FAIL: {here} looks like a source tree: run from an empty directory")
    expected_schema = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else None
    print(f"  user_tasks_graphql from {installed_package()}")
    for name, text in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    run("manage.py migrate", project, "manage.py", "migrate", "--noinput")
    run("manage.py check", project, "manage.py", "check", "--fail-level", "WARNING")
    run("shipped migrations match the models", project, "manage.py", "makemigrations", "--check", "--dry-run")
    print("   ", run("one eager task, its status read back", project, "run_task.py").strip())
    run("manage.py export_user_tasks_schema", project, "manage.py", "export_user_tasks_schema", "schema.graphql")
    exported = (project / "schema.graphql").read_text()
    if "userTaskStatuses" not in exported:
        sys.exit("FAIL: the exported schema has no userTaskStatuses")
    if expected_schema is not None and exported != expected_schema:
        sys.exit("FAIL: the installed package's schema differs from the committed schema.graphql")


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    main()
