"""Every code block of README.md and docs/*.md is checked, so none can drift from the code.

What a block is comes from its language and, for a block that is not plain code, from an HTML
comment on the line before it (unseen on GitHub and on the site): ``<!-- snippet: KIND, ... -->``.

- Python, ``run`` (the default): runs as is. Lines ``# path/name.py`` split it into files, each run
  as module ``path.name`` (importable by the files after it); a ``settings.py`` file's settings must
  be ones Django, Celery, Channels or this app read, with values they accept, and a ``urls.py``
  file must define its ``urlpatterns``. Its GraphQL strings validate against the library schema.
- Python, ``settings``: an excerpt of a settings module (the whole block, or its settings.py file),
  run where what such a module defines above it is defined (``SETTINGS_ABOVE``), then checked so.
- GraphQL, ``library`` (the default) or ``example``: valid against the library's schema or the
  example site's.
- Shell, ``shell`` (the default): make targets exist in the Makefile, paths in the repository,
  ``module:name`` references in their module, ``manage.py`` commands in Django and pip
  requirements in pyproject.toml.
- TypeScript, ``ts`` (the default): its GraphQL template literals validate against the library schema.
- Any language: ``excerpt PATH``: the block's lines are PATH's, in order (PATH is tested itself);
  ``skip, REASON``: not run, for the reason given.
- Options ``NAME=MODULE``: the placeholder module NAME is MODULE while the block runs (in shell
  text, NAME is replaced); ``NAME=stub``: NAME exists but needs an app this project does not
  install, so an empty URLconf stands in.

Whatever its kind, a Python block's imports from ``user_tasks_graphql`` must name what exists.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import shlex
import sys
import tomllib
import types
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import celery.fixups.django
import pytest
from celery.app.defaults import DEFAULTS as CELERY_DEFAULTS
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import get_commands
from django.test import override_settings
from django.urls import URLPattern, URLResolver
from django.utils.module_loading import import_string
from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from example_site.celery import app as celery_app
from example_site.demo.schema import schema as example_schema
from user_tasks_graphql.core import conf
from user_tasks_graphql.schema import schema as library_schema

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FAMILIES = {"python": "python", "py": "python", "graphql": "graphql", "sh": "shell", "shell": "shell",
            "bash": "shell", "ts": "ts", "tsx": "ts", "js": "ts"}  # fmt: skip
KINDS = {"python": ["run", "settings"], "graphql": ["library", "example"], "shell": ["shell"], "ts": ["ts"]}
MARKER = re.compile(r"^<!--\s*snippet:\s*(?P<spec>.*?)\s*-->$")
FILE_HEADER = re.compile(r"^# (?P<name>[\w/]+\.py)$", re.M)
PATH = re.compile(r"/|\.(py|md|graphql|toml|json|ts|tsx|sh|ya?ml|txt)$")  # a shell word naming a file
GRAPHQL_DOCUMENT = re.compile(r"^\s*(query|mutation|subscription)(\s+\w+)?\s*[({]")
SETTINGS_ABOVE = """\
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "myproject"}}
"""
COMMENT = r"(\s+(#|//).*)?"  # an excerpt's line may add a comment to the file's
PROJECT_SETTINGS = {"BASE_DIR", "REDIS_URL"}
CHANNELS_SETTINGS = {"CHANNEL_LAYERS", "ASGI_APPLICATION"}
CELERY_DJANGO_FIXUP = Path(celery.fixups.django.__file__).read_text()  # reads CELERY_DB_REUSE_MAX by that name


@dataclass
class Block:
    source: str  # the document, relative to the repository
    line: int  # its opening fence
    family: str
    code: str
    kind: str = ""
    argument: str = ""  # excerpt: the file; skip: the reason
    aliases: dict[str, str] = field(default_factory=dict)


def read_blocks(source: str, text: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown text with their markers, and what is wrong with the markers."""
    blocks: list[Block] = []
    problems: list[str] = []
    lines = text.splitlines()
    marker: tuple[int, str] | None = None
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        if line.startswith("```"):
            end = next(i for i in range(number + 1, len(lines)) if lines[i].strip() == "```")
            language = line[3:].strip().split(" ")[0]
            block = Block(source, number + 1, FAMILIES.get(language, language), "\n".join(lines[number + 1 : end]))
            try:
                describe(block, marker[1] if marker else "")
                blocks.append(block)
            except ValueError as exc:
                problems.append(f"{source}:{number + 1}: {exc}")
            marker, number = None, end + 1
            continue
        if marker and line:
            problems.append(f"{source}:{marker[0]}: a snippet marker must come right before its block")
            marker = None
        if match := MARKER.match(line):
            marker = (number + 1, match["spec"])
        number += 1
    return blocks, problems


def describe(block: Block, spec: str) -> None:
    """Sets the block's kind and options from its marker (``spec``), or its language's default."""
    kinds = KINDS.get(block.family, [])
    head, _, rest = spec.partition(",")
    kind, _, argument = head.strip().partition(" ")
    if not kind and not kinds:
        raise ValueError(f"nothing checks a {block.family!r} block: mark it `excerpt PATH` or `skip, REASON`")
    block.kind, block.argument = kind or kinds[0], argument.strip()
    if block.kind == "skip":
        block.argument = rest.strip()
        if not block.argument:
            raise ValueError("a skipped block says why: <!-- snippet: skip, REASON -->")
        return
    if block.kind not in [*kinds, "excerpt"] or (block.kind == "excerpt") != bool(block.argument):
        raise ValueError(f"unknown snippet marker {spec!r} for a {block.family!r} block")
    for option in filter(None, (item.strip() for item in rest.split(","))):
        name, equals, target = option.partition("=")
        if not equals:
            raise ValueError(f"unknown option {option!r} (options are NAME=MODULE)")
        block.aliases[name.strip()] = target.strip()


def all_blocks() -> tuple[list[Block], list[str]]:
    blocks, problems = [], []
    for document in DOCUMENTS:
        found, wrong = read_blocks(document.relative_to(ROOT).as_posix(), document.read_text())
        blocks += found
        problems += wrong
    return blocks, problems


@cache
def graphql_schema(name: str) -> GraphQLSchema:
    return build_schema({"library": library_schema, "example": example_schema}[name].as_str())


def graphql_problems(document: str, schema: str = "library") -> list[str]:
    try:
        return [error.message for error in validate(graphql_schema(schema), parse(document))]
    except GraphQLError as exc:
        return [exc.message]


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


def graphql_strings_problems(tree: ast.AST) -> list[str]:
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return [problem for text in strings if GRAPHQL_DOCUMENT.match(text) for problem in graphql_problems(text)]


@cache
def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    rules = re.findall(r"^(\w[\w.-]*(?:[ \t]+[\w.-]+)*)[ \t]*:(?!=)", makefile, re.M)
    return {t for rule in rules + re.findall(r"^\.PHONY:(.*)$", makefile, re.M) for t in rule.split()}


@cache
def declared_requirements() -> tuple[str, dict[str, list[str]], set[str]]:
    """The project's name, its extras, and every package it declares anywhere."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = [*project["dependencies"], *(r for requirements in extras.values() for r in requirements)]
    names = {canonicalize_name(Requirement(r).name) for r in declared}
    return canonicalize_name(project["name"]), extras, names


def find_module(name: str) -> Any:
    """The module's spec, or None (also when a parent does not exist)."""
    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None


def module_reference_problems(reference: str) -> list[str]:
    """``package.module[:name]`` must be a module of the repository or installed, defining ``name``."""
    module, _, name = reference.partition(":")
    spec = find_module(module)
    if spec is None or spec.origin is None:
        return [f"{reference}: no module {module}"]
    tree = ast.parse(Path(spec.origin).read_text())
    defined = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    defined |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    return [f"{reference}: {module} defines no {name}"] if name and name not in defined else []


def command_problems(words: list[str]) -> list[str]:
    while words and re.match(r"^\w+=", words[0]):  # VARIABLE=value before the command
        words = words[1:]
    if not words or words[0] == "export":
        return []
    problems = []
    if words[0] == "make":
        targets = [t for t in words[1:] if t[0] != "-"]
        problems += [f"make {t}: no such target in the Makefile" for t in targets if t not in make_targets()]
    if "pip" in words[:3] and "install" in words:
        project, extras, names = declared_requirements()
        for text in (w for w in words[words.index("install") + 1 :] if w[0] != "-"):
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            if name == project:
                problems += [f"{text}: no extra {e!r} in pyproject.toml" for e in requirement.extras - set(extras)]
            elif name not in names:
                problems.append(f"{text}: not a package pyproject.toml declares")
    for previous, word in zip(["", *words], words, strict=False):
        if previous.endswith("manage.py") and word not in get_commands():
            problems.append(f"manage.py {word}: no such command")
        if previous in ("-A", "--app") or re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*:\w+", word):
            problems += module_reference_problems(word)
        elif PATH.search(word) and not re.match(r"[-$/~]|\w+://", word) and not (ROOT / word).exists():
            problems.append(f"{word}: no such file in the repository")
    return problems


def shell_problems(block: Block) -> list[str]:
    text = block.code.replace("\\\n", " ")
    for name, target in block.aliases.items():
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", target, text)
    problems = []
    for line in text.splitlines():
        command: list[str] = []
        for word in [*shlex.split(line, comments=True), ";"]:
            if word in (";", "&&", "||", "|"):
                problems += command_problems(command)
                command = []
            else:
                command.append(word)
    return problems


def excerpt_problems(block: Block) -> list[str]:
    """Each line of the block is a line of the file, in order; a line may add a trailing comment."""
    source = [line.rstrip() for line in (ROOT / block.argument).read_text().splitlines()]
    position = 0
    for line in (line.rstrip() for line in block.code.splitlines() if line.strip()):
        same = (
            i
            for i, s in enumerate(source)
            if i >= position and s.strip() and re.fullmatch(re.escape(s) + COMMENT, line)
        )
        found = next(same, None)
        if found is None:
            return [f"not in {block.argument} (after its line {position}): {line.strip()!r}"]
        position = found + 1
    return []


def check(block: Block) -> list[str]:
    """What is wrong with the block; a Python block that fails to run raises."""
    problems: list[str] = []
    if block.family == "python":
        try:
            problems += import_problems(ast.parse(block.code))
        except SyntaxError:
            if block.kind not in ("skip", "excerpt"):
                raise
    if block.kind == "skip":
        return problems
    if block.kind == "excerpt":
        return problems + excerpt_problems(block)
    if block.family == "python":
        return problems + run_python(block)
    if block.family == "graphql":
        return graphql_problems(block.code, block.kind)
    if block.family == "shell":
        return shell_problems(block)
    documents = [d for d in re.findall(r"`([^`]*)`", block.code) if GRAPHQL_DOCUMENT.match(d)]
    if not documents:
        return ["a TypeScript block with no GraphQL document: mark it `excerpt PATH` or `skip, REASON`"]
    return [problem for document in documents for problem in graphql_problems(document)]


BLOCKS, MARKER_PROBLEMS = all_blocks()
# the README's urls.py and asgi.py before they imported what they use (3211d9f~5)
OLD_SERVING = """```python
# urls.py
from user_tasks_graphql.schema import schema
from user_tasks_graphql.views import graphql_view

urlpatterns = [
    path("graphql/", graphql_view(schema)),
    path("user-tasks/", include("user_tasks_graphql.urls")),  # authorized artifact downloads
]

# asgi.py
django_application = get_asgi_application()
from user_tasks_graphql.routing import user_tasks_application
application = user_tasks_application(schema, django_application)
```"""
# ... with urls.py fixed and asgi.py importing the schema too: asgi.py alone is still wrong
OLD_ASGI = OLD_SERVING.replace("urlpatterns = [", "from django.urls import include, path\n\nurlpatterns = [").replace(
    "# asgi.py\n", "# asgi.py\nfrom user_tasks_graphql.schema import schema\n"
)


def test_every_marker_is_understood():
    assert MARKER_PROBLEMS == []


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.source}:{b.line}:{b.family}:{b.kind}" for b in BLOCKS])
def test_code_block(block: Block):
    assert check(block) == []


def one_block(markdown: str) -> Block:
    blocks, problems = read_blocks("example.md", markdown)
    assert problems == []
    assert len(blocks) == 1
    return blocks[0]


# fmt: off
@pytest.mark.parametrize(("markdown", "undefined"), [
    (OLD_SERVING, "path"),
    (OLD_ASGI, "get_asgi_application"),
    ("```python\nCHANNEL_LAYERS = {'default': {'CONFIG': {'hosts': [REDIS_URL]}}}\n```", "REDIS_URL"),
], ids=["old-readme-urls", "old-readme-asgi", "settings-without-its-marker"])
def test_a_python_block_that_uses_a_name_it_never_defined_fails(markdown: str, undefined: str):
    with pytest.raises(NameError, match=f"name '{undefined}' is not defined"):
        check(one_block(markdown))


@pytest.mark.parametrize(("markdown", "problem"), [
    ("<!-- snippet: skip, a sketch -->\n```python\nfrom user_tasks_graphql.tasks import UserTasks\n```",
     "user_tasks_graphql.tasks has no 'UserTasks'"),
    ("<!-- snippet: settings -->\n```python\nUSER_TASKS_WS_ALLOWED_ORIGIN = []\n```", "no setting of this app"),
    ("<!-- snippet: settings -->\n```python\nUSER_TASKS_PROGRESS_INTERVAL = -1\n```", "zero or a positive number"),
    ("<!-- snippet: settings -->\n```python\nCELERY_TASK_ACK_LATE = True\n```", "no setting Celery reads"),
    ("<!-- snippet: settings -->\n```python\nSTORAGE = {}\n```", "no setting of Django, Channels or Celery"),
    ('```python\nQUERY = "query { userTaskStatuses { nodes { id } } }"\n```', "Cannot query field 'nodes'"),
    ("```graphql\nmutation { startDemoTask(steps: 3) { id } }\n```", "Cannot query field 'startDemoTask'"),
    ("```ts\nconst q = gql`query { userTaskStatus(uuid: 1) { nme } }`;\n```", "Cannot query field 'nme'"),
    ("```sh\nmake doc\n```", "make doc: no such target"),
    ("```sh\nbash packaging/missing.sh\n```", "packaging/missing.sh: no such file"),
    ("```sh\nuvicorn example_site.asgi:app\n```", "example_site.asgi defines no app"),
    ("```sh\npython manage.py migrat\n```", "manage.py migrat: no such command"),
    ('```sh\npip install "django-user-tasks-graphql[postgresql]"\n```', "no extra 'postgresql'"),
    ("<!-- snippet: excerpt tests/testapp/schema.py -->\n```python\nschema = strawberry.Schema(Query)\n```",
     "not in tests/testapp/schema.py"),
])
def test_a_block_that_drifted_fails(markdown: str, problem: str):
    problems = check(one_block(markdown))
    assert any(problem in found for found in problems), problems


@pytest.mark.parametrize(("markdown", "problem"), [
    ("<!-- snippet: skip -->\n```python\nx = 1\n```", "says why"),
    ("<!-- snippet: settings -->\n```graphql\n{ x }\n```", "unknown snippet marker"),
    ("<!-- snippet: run, tests.testapp -->\n```python\nx = 1\n```", "unknown option"),
    ("```\nsome output\n```", "nothing checks a '' block"),
    ("```yaml\na: 1\n```", "nothing checks a 'yaml' block"),
    ("<!-- snippet: settings -->\n\nSome text.\n\n```python\nx = 1\n```", "must come right before its block"),
])
def test_a_marker_that_is_not_understood_is_reported(markdown: str, problem: str):
    _, problems = read_blocks("example.md", markdown)
    assert any(problem in found for found in problems), problems
# fmt: on


def test_a_graphql_block_marked_example_is_checked_against_the_example_sites_schema():
    block = one_block("<!-- snippet: example -->\n```graphql\nmutation { startDemoTask(steps: 3) { id } }\n```")
    assert check(block) == []


def load_hook(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_reference_shows_every_type_field_argument_and_description():
    hook = load_hook("api_reference")
    config = {"config_file_path": str(ROOT / "mkdocs.yml")}
    page = hook.on_page_markdown((ROOT / "docs" / "reference.md").read_text(), None, config, None)
    assert hook.MARKER not in page
    text = " ".join(page.replace("<br>", " ").replace("\\|", "|").split())
    schema = build_schema((ROOT / "schema.graphql").read_text())
    types = [t for name, t in schema.type_map.items() if not name.startswith("__")]
    expected = [f"### {t.name} {{ #type-{t.name.lower()} }}" for t in types]
    for named in types:
        expected.append(named.description)
        for name, member in {**getattr(named, "fields", {}), **getattr(named, "values", {})}.items():
            expected += [f"| `{name}` |", member.description]
            for argument, value in getattr(member, "args", {}).items():
                expected += [f"`{argument}`: ", value.description]
    assert [e for e in expected if e and " ".join(e.split()) not in text] == []


def test_links_to_repository_files_outside_the_site_point_at_the_repository():
    hook = load_hook("repository_files")
    docs, url = ROOT / "docs", "https://example.com/repo"
    links = "[a](../schema.graphql), [b](api.md#errors), [c](../example_site/), [d](../nowhere.md)"
    fenced = "\n```\n[e](../Makefile)\n```"
    assert hook.outside_links(links + fenced, docs, docs, ROOT, url) == (
        f"[a]({url}/blob/main/schema.graphql), [b](api.md#errors), [c]({url}/tree/main/example_site), "
        "[d](../nowhere.md)" + fenced
    )
