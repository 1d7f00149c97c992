"""The browser tests' fixtures: a headless Chromium, two accounts, a site with a worker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import sync_playwright

from ..conftest import Server, Worker
from ..spa_pages import CHROMIUM, CHROMIUM_ARGS, MANIFEST


@pytest.fixture
def accounts(db: Any) -> None:
    """Created before the browser starts: Playwright's sync API runs an event loop in this thread."""
    users = get_user_model().objects
    users.create_user("alice", password="secret")
    users.create_user("bob", password="secret")


@pytest.fixture
def browser(accounts: None) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    assert MANIFEST.exists(), "the SPA is not built: run `make test` (it builds it with npm)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def media(tmp_path: Path) -> dict[str, str]:
    """One media root for the worker that stores artifact files and the server that sends them."""
    (tmp_path / "media").mkdir()
    return {"TEST_MEDIA_ROOT": str(tmp_path / "media")}


@pytest.fixture
def site(start_server: Callable[..., Server], start_worker: Callable[..., Worker], media: dict[str, str]) -> Server:
    start_worker(**media)
    return start_server(**media)
