"""``manage.py reap_stale_user_tasks``: fail running tasks whose worker went silent."""

from typing import Any

from django.core.management.base import BaseCommand

from user_tasks_graphql.core.maintenance import reap_stale_user_tasks


class Command(BaseCommand):
    help = "Fail In Progress user tasks with no progress or heartbeat within USER_TASKS_STALE_AFTER."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Failed {reap_stale_user_tasks()} stale user task(s).")
