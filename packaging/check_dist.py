"""Check the sdist and the wheel in a directory (``make package``): what they hold, their metadata,
and that every library the package imports is one it declares.

Run from the source tree with the development environment's Python: the package directory there is
what the wheel must hold, and that environment maps import names to the distributions that
provide them. Prints what it checked; exits 1 listing every problem found.
"""

from __future__ import annotations

import ast
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PACKAGE = "user_tasks_graphql"
LICENSE = "Apache-2.0"
SHIPPED = ("py.typed", "migrations/__init__.py", "migrations/0001_initial.py")  # never to go missing unnoticed
URLS = ("Homepage", "Documentation", "Changelog", "Issues")
OPTIONAL_IMPORT = frozenset({"ImportError", "ModuleNotFoundError"})


def package_files(root: Path) -> set[str]:
    """The files of the package in the source tree, as the wheel names them."""
    return {
        path.relative_to(root).as_posix()
        for path in (root / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def check_wheel(wheel: Path, root: Path, problems: list[str]) -> tuple[Message, dict[str, bytes]]:
    """The wheel holds the package's every file and its dist-info, nothing else."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next((name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")), "")
        sources = {name: archive.read(name) for name in names if name.startswith(PACKAGE) and name.endswith(".py")}
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        license_name = f"{dist_info}/licenses/LICENSE"
        license_text = archive.read(license_name) if license_name in names else b""
    expected = package_files(root)
    in_package = {name for name in names if name.startswith(f"{PACKAGE}/")}
    problems += [f"wheel lacks {name}" for name in sorted(expected - in_package)]
    problems += [f"wheel has {name}, which the source tree has not" for name in sorted(in_package - expected)]
    problems += [f"wheel lacks {PACKAGE}/{name}" for name in SHIPPED if f"{PACKAGE}/{name}" not in names]
    strays = sorted(name for name in names - in_package if not name.startswith(f"{dist_info}/"))
    problems += [f"wheel has {name}, outside the package" for name in strays]
    source_license = root / "LICENSE"
    if not source_license.is_file() or license_text != source_license.read_bytes():
        problems.append("wheel's dist-info/licenses/LICENSE is missing or not the source tree's LICENSE")
    print(f"wheel: {len(in_package)} files of {PACKAGE}/, {len(names - in_package)} in {dist_info}/")
    return metadata, sources


def check_sdist(sdist: Path, root: Path, problems: list[str]) -> None:
    """The sdist holds what building the wheel from it needs, and the license."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} | package_files(root)
    problems += [f"sdist lacks {name}" for name in sorted(needed - names)]
    print(f"sdist: {len(names)} entries")


def check_metadata(metadata: Message, problems: list[str]) -> None:
    """What an index shows and an installer reads: the license, the URLs, the Python range, typing."""
    if metadata["License-Expression"] != LICENSE:
        problems.append(f"License-Expression is {metadata['License-Expression']!r}, not {LICENSE!r}")
    classifiers = metadata.get_all("Classifier") or []
    # PEP 639: a License-Expression with License :: classifiers is refused by the index
    problems += [f"classifier {c!r} beside a License-Expression" for c in classifiers if c.startswith("License ::")]
    if "Typing :: Typed" not in classifiers:
        problems.append("no 'Typing :: Typed' classifier")
    if not metadata["Requires-Python"]:
        problems.append("no Requires-Python")
    labels = {url.split(",")[0].strip() for url in metadata.get_all("Project-URL") or []}
    problems += [f"no Project-URL {label!r}" for label in URLS if label not in labels]
    print(f"metadata: {metadata['Name']} {metadata['Version']}, Requires-Python {metadata['Requires-Python']}")


def third_party_imports(sources: dict[str, bytes]) -> dict[str, dict[str, bool]]:
    """Top-level names the package imports from other distributions, each with the files importing
    it and whether that import is optional there (inside ``try: ... except ImportError``)."""
    found: dict[str, dict[str, bool]] = {}
    for name, source in sorted(sources.items()):
        tree = ast.parse(source, name)
        optional_nodes: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(_catches_import_error(handler) for handler in node.handlers):
                optional_nodes |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == PACKAGE:
                    continue
                files = found.setdefault(top, {})
                files[name] = files.get(name, True) and id(node) in optional_nodes
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(isinstance(name, ast.Name) and name.id in OPTIONAL_IMPORT for name in names)


def check_declared(metadata: Message, sources: dict[str, bytes], problems: list[str]) -> None:
    """Each imported library is a requirement: unconditional, or an extra's where every import of it is optional."""
    required: set[str] = set()
    in_extras: set[str] = set()
    for line in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        is_extra = requirement.marker is not None and "extra" in str(requirement.marker)
        (in_extras if is_extra else required).add(canonicalize_name(requirement.name))
    providers = packages_distributions()
    for module, files in sorted(third_party_imports(sources).items()):
        dists = {canonicalize_name(dist) for dist in providers.get(module, [])}
        where = ", ".join(sorted(files))
        if not dists:
            problems.append(f"{module} (imported by {where}) is in no installed distribution")
        elif dists & required:
            print(f"  {module}: {', '.join(sorted(dists & required))}")
        elif dists & in_extras and all(files.values()):
            print(f"  {module}: {', '.join(sorted(dists & in_extras))} (an extra; imported optionally)")
        else:
            problems.append(f"{module} (imported by {where}) is not declared: {', '.join(sorted(dists))}")


def main(dist: Path, root: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}", file=sys.stderr)
        return 1
    problems: list[str] = []
    metadata, sources = check_wheel(wheels[0], root, problems)
    check_sdist(sdists[0], root, problems)
    check_metadata(metadata, problems)
    print("imported libraries and the requirements that provide them:")
    check_declared(metadata, sources, problems)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent))
