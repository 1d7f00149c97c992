"""``manage.py purge_old_user_tasks``: the purge without a Celery beat."""

from typing import Any

from django.core.management.base import BaseCommand

from user_tasks_graphql.core.maintenance import purge_old_user_tasks


class Command(BaseCommand):
    help = "Delete finished user task statuses older than USER_TASKS_MAX_AGE, with their artifacts and files."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Purged {purge_old_user_tasks()} user task status(es).")
