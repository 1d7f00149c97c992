"""``manage.py export_user_tasks_schema [path]``: write the library schema's SDL (stdout by default)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def sdl() -> str:
    from user_tasks_graphql.schema import schema

    return schema.as_str() + "\n"


class Command(BaseCommand):
    help = "Print or write the SDL of user_tasks_graphql.schema.schema."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="file to write (default: print)")

    def handle(self, *args: Any, path: str | None = None, **options: Any) -> None:
        if path:
            Path(path).write_text(sdl())
        else:
            self.stdout.write(sdl(), ending="")
