"""Python blocks: run as modules, their settings and URLconfs checked, their imports of this package resolved.

Running a block means registering its files as modules and undoing that after, so this module
holds everything that touches ``sys.modules`` and Django's settings in one place.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

import celery.fixups.django
from celery.app.defaults import DEFAULTS as CELERY_DEFAULTS
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import URLPattern, URLResolver
from django.utils.module_loading import import_string

from example_site.celery import app as celery_app
from user_tasks_graphql.core import conf

from .blocks import ROOT, Block
from .graphql_checks import graphql_strings_problems

FILE_HEADER = re.compile(r"^# (?P<name>[\w/]+\.py)$", re.M)
SETTINGS_ABOVE = """\
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "myproject"}}
"""
PROJECT_SETTINGS = {"BASE_DIR", "REDIS_URL"}
CHANNELS_SETTINGS = {"CHANNEL_LAYERS", "ASGI_APPLICATION"}
CELERY_DJANGO_FIXUP = Path(celery.fixups.django.__file__).read_text()  # reads CELERY_DB_REUSE_MAX by that name


def import_problems(tree: ast.AST) -> list[str]:
    """Imports of user_tasks_graphql that name a module or a name that does not exist."""
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module_name in (m for m in modules if m.split(".")[0] == "user_tasks_graphql"):
                try:
                    module = importlib.import_module(module_name)
                except ImportError as exc:
                    problems.append(f"line {node.lineno}: {exc}")
                    continue
                names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
                submodules = {n for n in names if hasattr(module, "__path__") and find_module(f"{module_name}.{n}")}
                missing = [n for n in names if not hasattr(module, n) and n not in submodules]
                problems += [f"line {node.lineno}: {module_name} has no {name!r}" for name in missing]
    return problems


def settings_problems(namespace: dict[str, Any]) -> list[str]:
    """Settings must be read by Django, Celery, Channels or this app, with values they accept."""
    problems = []
    for name, value in namespace.items():
        if not name.isupper() or name.startswith("_"):
            continue
        if name.startswith("USER_TASKS_"):
            if name not in conf.SETTINGS:
                problems.append(f"{name} is no setting of this app (user_tasks_graphql/core/conf.py)")
                continue
            try:
                with override_settings(**{name: value}):
                    conf.SETTINGS[name].read()
            except ImproperlyConfigured as exc:
                problems.append(str(exc))
        elif name.startswith("CELERY_"):
            if name[7:].lower() not in CELERY_DEFAULTS and f"'{name}'" not in CELERY_DJANGO_FIXUP:
                problems.append(f"{name} is no setting Celery reads")
        elif not hasattr(global_settings, name) and name not in CHANNELS_SETTINGS | PROJECT_SETTINGS:
            problems.append(f"{name} is no setting of Django, Channels or Celery")
    paths = [*namespace.get("AUTHENTICATION_BACKENDS", []), namespace.get("CSRF_FAILURE_VIEW")]
    paths += [layer["BACKEND"] for layer in namespace.get("CHANNEL_LAYERS", {}).values()]
    for path in filter(None, paths):
        try:
            import_string(path)
        except ImportError as exc:
            problems.append(f"{path}: {exc}")
    for alias, storage in namespace.get("STORAGES", {}).items():
        try:
            import_string(storage["BACKEND"])(**storage.get("OPTIONS", {}))
        except (ImportError, TypeError) as exc:
            problems.append(f'STORAGES["{alias}"]: {exc}')
    apps = [app for app in namespace.get("INSTALLED_APPS", []) if isinstance(app, str)]
    problems += [f"INSTALLED_APPS: no module {app}" for app in apps if importlib.util.find_spec(app) is None]
    if transport := namespace.get("CELERY_BROKER_TRANSPORT"):
        module, _, name = transport.partition(":")
        if not hasattr(importlib.import_module(module), name):
            problems.append(f"CELERY_BROKER_TRANSPORT: {module} has no {name}")
    for entry in namespace.get("CELERY_BEAT_SCHEDULE", {}).values():
        if entry["task"] not in celery_app.tasks:
            problems.append(f"CELERY_BEAT_SCHEDULE: no task {entry['task']}")
    return problems


def url_problems(namespace: dict[str, Any]) -> list[str]:
    patterns = namespace.get("urlpatterns")
    if not isinstance(patterns, list):
        return ["urls.py defines no urlpatterns list"]
    for resolver in (p for p in patterns if isinstance(p, URLResolver)):
        resolver.url_patterns  # noqa: B018  (loads the included URLconf: raises for a bad one)
    return [f"not a URL pattern: {p!r}" for p in patterns if not isinstance(p, URLPattern | URLResolver)]


def register(name: str, created: dict[str, Any], module: types.ModuleType | None = None) -> types.ModuleType:
    """``module`` (else a new empty one) importable as ``name`` until the block ends, with a parent
    package standing in for any that does not exist; ``created`` keeps what was registered."""
    parent, _, child = name.rpartition(".")
    if parent and parent not in sys.modules and importlib.util.find_spec(parent) is None:
        register(parent, created)
    module = module or types.ModuleType(name)
    if parent in created:
        setattr(created[parent], child, module)
    created[name] = sys.modules[name] = module
    return module


def split_files(block: Block) -> list[tuple[str, int, str]]:
    """(file name, its line in the block, its code) for each ``# path.py`` file, or the block as one."""
    headers = list(FILE_HEADER.finditer(block.code))
    if not headers:
        own = "snippet_" + re.sub(r"\W", "_", block.source) + f"_{block.line}.py"
        return [("settings.py" if block.kind == "settings" else own, 0, block.code)]
    ends = [header.start() for header in headers[1:]] + [len(block.code)]
    lines = [block.code[: header.start()].count("\n") for header in headers]
    files = [(h["name"], line, block.code[h.start() : end]) for h, line, end in zip(headers, lines, ends, strict=True)]
    assert not block.code[: headers[0].start()].strip(), "code before the block's first `# file.py` line"
    return files


def run_python(block: Block) -> list[str]:
    """Runs the block's files as modules, then checks their settings and URLs."""
    saved = dict(sys.modules)
    created: dict[str, types.ModuleType] = {}
    problems: list[str] = []
    try:
        for name, target in block.aliases.items():
            if target == "stub":
                assert find_module(name) is not None, f"{name} does not exist"
                register(name, created).urlpatterns = []
            else:
                register(name, created, importlib.import_module(target))
        files = split_files(block)
        for name, line, code in files:
            module = register(name[:-3].replace("/", "."), created)
            module.__file__ = str(ROOT / "project" / name)
            if block.kind == "settings" and name.endswith("settings.py"):
                exec(compile(SETTINGS_ABOVE, "SETTINGS_ABOVE", "exec"), module.__dict__)
            padding = "\n" * (block.line + line)  # tracebacks name the document's own lines
            exec(compile(padding + code, str(ROOT / block.source), "exec"), module.__dict__)
            problems += graphql_strings_problems(ast.parse(code))
        for name, _, _ in files:  # once all ran: a setting may name a later file's function
            namespace = created[name[:-3].replace("/", ".")].__dict__
            problems += settings_problems(namespace) if name.endswith("settings.py") else []
            problems += url_problems(namespace) if name.endswith("urls.py") else []
    finally:
        own = {name: module for name, module in created.items() if module.__name__ == name}
        for name in created:
            if name in saved:
                sys.modules[name] = saved[name]
            else:
                sys.modules.pop(name, None)
        for module in own.values():
            module.__dict__.clear()  # no receiver or task the block defined stays reachable
    return problems


def find_module(name: str) -> Any:
    """The module's spec, or None (also when a parent does not exist)."""
    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
