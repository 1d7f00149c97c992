"""MkDocs hook: the pages' links to files of the repository outside docs/, and included files.

The guides link to the code they describe (``../example_site/frontend/``, ``../schema.graphql``),
which reads right on the repository's own pages but is no page of the site: such a link becomes
a link to the file in the repository (``repo_url``). A line ``<!-- include: ../bench/RESULTS.md -->``
is replaced by that file, so the site shows the benchmark results where they are kept.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

BRANCH = "main"
INCLUDE = re.compile(r"^<!-- include: (?P<path>\S+) -->$", re.M)
LINK = re.compile(r"(?P<head>!?\[[^\]\n]*\]\()(?P<target>[^)\s#]+)(?P<tail>#[^)\s]*)?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config["config_file_path"]).resolve().parent
    docs = Path(config["docs_dir"]).resolve()
    page_dir = (docs / page.file.src_path).parent

    def include(match: re.Match[str]) -> str:
        included = (page_dir / match["path"]).resolve()
        return outside_links(included.read_text(), included.parent, docs, root, config["repo_url"])

    return outside_links(INCLUDE.sub(include, markdown), page_dir, docs, root, config["repo_url"])


def outside_links(markdown: str, base: Path, docs: Path, root: Path, repo_url: str) -> str:
    """``markdown`` (whose relative links start at ``base``) with its links to repository files
    outside ``docs`` made absolute; code blocks are left as they are."""

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"]
        if "://" in target or target.startswith(("/", "mailto:")):
            return match[0]
        path = Path(os.path.normpath(base / target))
        if path.is_relative_to(docs) or not path.is_relative_to(root) or not path.exists():
            return match[0]  # a page of the site, or a broken link MkDocs reports
        kind = "tree" if path.is_dir() else "blob"
        url = f"{repo_url.rstrip('/')}/{kind}/{BRANCH}/{path.relative_to(root).as_posix()}"
        return f"{match['head']}{url}{match['tail'] or ''})"

    pieces, last = [], 0
    for fence in FENCE.finditer(markdown):
        pieces += [LINK.sub(rewrite, markdown[last : fence.start()]), fence[0]]
        last = fence.end()
    return "".join([*pieces, LINK.sub(rewrite, markdown[last:])])
