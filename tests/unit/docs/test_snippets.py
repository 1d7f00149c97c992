"""Every code block of README.md and docs/*.md is checked, so none can drift from the code.

The checks themselves live beside this module (see the package's docstring for the markers); here
are the tests: every block passes, and blocks that drifted or markers that are wrong are caught.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from graphql import build_schema

from .blocks import ROOT, Block, all_blocks, read_blocks
from .other_checks import check

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
