"""``manage.py export_user_tasks_schema [path] [--schema module.attr]``: write a schema's SDL.

By default the library's own schema; ``--schema`` names another (e.g. a project's merged one).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string

LIBRARY_SCHEMA = "user_tasks_graphql.schema.schema"


def sdl(schema_path: str = LIBRARY_SCHEMA) -> str:
    return str(import_string(schema_path).as_str()) + "\n"


class Command(BaseCommand):
    help = "Print or write the SDL of a GraphQL schema (default: user_tasks_graphql.schema.schema)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="file to write (default: print)")
        parser.add_argument("--schema", default=LIBRARY_SCHEMA, help="import path of the schema object")

    def handle(self, *args: Any, path: str | None = None, schema: str = LIBRARY_SCHEMA, **options: Any) -> None:
        text = sdl(schema)
        if path:
            Path(path).write_text(text)
        else:
            self.stdout.write(text, ending="")
