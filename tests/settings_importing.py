"""Settings for tests/importing: the test settings plus django-user-tasks itself, whose tables the
import reads.

Only that directory runs under them, in a child process (tests/unit/test_import_django_user_tasks.py
starts it): django-user-tasks connects Celery signal handlers the rest of the suite must not have.
``IMPORT_TEST_DATABASE`` names the throwaway test database (a SQLite file or a PostgreSQL database)
the parent chose.
"""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "user_tasks"]  # noqa: F405

# Both apps' statuses have a `user` foreign key with Django's default reverse accessor
# (`user.usertaskstatus_set`): side by side that is check error fields.E304 (docs/migrating.md).
SILENCED_SYSTEM_CHECKS = ["fields.E304"]

if os.environ.get("IMPORT_TEST_DATABASE"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["IMPORT_TEST_DATABASE"]}  # noqa: F405
