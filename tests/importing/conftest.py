"""The import from django-user-tasks, against django-user-tasks itself.

These tests need ``user_tasks`` installed and migrated, so they run only under
tests.settings_importing, in the child process tests/unit/test_import_django_user_tasks.py starts
(once on SQLite, once on PostgreSQL); under any other settings they are not collected. Nothing here
imports django-user-tasks: this file is read whenever pytest walks tests/.
"""

import os

collect_ignore_glob = [] if os.environ.get("DJANGO_SETTINGS_MODULE") == "tests.settings_importing" else ["test_*.py"]
