"""The package's structure: imports point one way between its sides, the core imports no transport,
no module grows past 300 lines, and no import hides inside a function."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "user_tasks_graphql"
MAX_LINES = 300
TRANSPORT = {"celery", "kombu", "channels", "channels_redis", "redis", "strawberry", "strawberry_django", "graphql"}
# what each side may import of the package (besides itself); the top-level modules are the API and
# the package's faces (models, tasks, exceptions, permissions: the paths Django, Celery and settings name)
ALLOWED = {
    "core": set(),
    "adapters": set(),
    "worker": {"core"},
    "live": {"core", "adapters"},
    "schema": {"core", "live", "adapters"},
    "management": {"core", "schema"},
    "migrations": {"core"},
    "top": {"core", "worker", "live", "schema", "adapters"},
}
# imports that must run inside a function: Django's AppConfig.ready, and an optional driver
IMPORTS_IN_FUNCTIONS = {("apps.py", "core"), ("apps.py", "live"), ("apps.py", "worker"), ("core/writes.py", "psycopg")}


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py"))


def side(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "top"


def imported(path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute dotted names ``node`` imports (relative imports resolved against ``path``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    package = ["user_tasks_graphql", *path.relative_to(PACKAGE).parts[:-1]]
    base = package[: len(package) - node.level + 1]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, alias.name]) for alias in node.names]


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(imported name, whether the import runs inside a function)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((name, in_function) for name in imported(path, child))
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only
            visit(child, inner)

    visit(tree, False)
    return found


def package_side(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "user_tasks_graphql" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in ALLOWED else "top"


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path):
    mine = side(path)
    for name, _ in imports_of(path):
        other = package_side(name)
        if other is None or other == mine:
            continue
        assert other in ALLOWED[mine], f"{path.relative_to(PACKAGE)} ({mine}) imports {name} ({other})"


@pytest.mark.parametrize("path", [p for p in modules() if side(p) == "core"], ids=lambda p: p.name)
def test_the_core_imports_no_transport(path: Path):
    for name, _ in imports_of(path):
        assert name.split(".")[0] not in TRANSPORT, f"core/{path.name} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_modules_stay_small_and_import_at_the_top(path: Path):
    relative = str(path.relative_to(PACKAGE))
    assert len(path.read_text().splitlines()) <= MAX_LINES, f"{relative} is over {MAX_LINES} lines"
    for name, in_function in imports_of(path):
        short = name.removeprefix("user_tasks_graphql.").split(".")[0]
        if in_function:
            assert (relative, short) in IMPORTS_IN_FUNCTIONS, f"{relative} imports {name} inside a function"


def test_the_checks_see_a_wrong_arrow():
    """The parser resolves relative imports the way Python does (a wrong arrow would be caught)."""
    lifecycle = PACKAGE / "core" / "lifecycle.py"
    names = {name for name, _ in imports_of(lifecycle)}
    assert "user_tasks_graphql.core.writes" in names or "user_tasks_graphql.core" in names
    assert package_side("user_tasks_graphql.live.hub") == "live"
    assert package_side("user_tasks_graphql.consumers") == "top"
