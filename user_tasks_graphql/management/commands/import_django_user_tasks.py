"""``manage.py import_django_user_tasks [--dry-run] [--batch-size N]``: copy django-user-tasks'
statuses and artifacts into this app's tables (``core/importing.py`` says how)."""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from user_tasks_graphql.core.importing import import_django_user_tasks
from user_tasks_graphql.core.legacy_tables import LegacyTablesMissing

MAX_BATCH_SIZE = 10_000  # the rows' uuids go into one IN (...) list per batch


def batch_size_argument(value: str) -> int:
    size = int(value)
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_BATCH_SIZE}")
    return size


class Command(BaseCommand):
    help = (
        "Copy django-user-tasks' statuses and artifacts (its tables user_tasks_usertaskstatus and "
        "user_tasks_usertaskartifact) into this app's tables, once each (matched on uuid), with their "
        "timestamps. File artifacts keep their stored file name; the files are not copied."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be copied, write nothing")
        parser.add_argument(
            "--batch-size", type=batch_size_argument, default=1000, help="rows read and written per transaction (1000)"
        )

    def handle(self, *args: Any, dry_run: bool = False, batch_size: int = 1000, **options: Any) -> None:
        progress = self.stdout.write if options.get("verbosity", 1) >= 1 else None
        try:
            report = import_django_user_tasks(dry_run=dry_run, batch_size=batch_size, progress=progress)
        except LegacyTablesMissing as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
