"""The demo SPA in headless Chromium against a live server, a real worker and the Redis layer."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from user_tasks_graphql.models import UserTaskStatus

from .conftest import REPO, Server, Worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
def accounts(db: Any) -> None:
    """Created before the browser starts: Playwright's sync API runs an event loop in this thread."""
    users = get_user_model().objects
    users.create_user("alice", password="secret")
    users.create_user("bob", password="secret")


@pytest.fixture
def browser(accounts: None) -> Any:
    if not Path(CHROMIUM).exists():
        import os

        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    manifest = REPO / "example_site" / "frontend" / "dist" / ".vite" / "manifest.json"
    assert manifest.exists(), "the SPA is not built: run `make test` (it builds it with npm)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def log_in(browser: Any, server: Server, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{server.http}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret")
    page.click("button[type=submit]")
    page.wait_for_selector('#connection[data-state="connected"]', timeout=15000)
    return page


def start_task(page: Any, steps: int, seconds: float, fail_at: int | None = None) -> Any:
    before = page.locator("li.task").count()
    page.fill("#steps", str(steps))
    page.fill("#step-seconds", str(seconds))
    page.fill("#fail-at-step", "" if fail_at is None else str(fail_at))
    page.click("#start")
    page.wait_for_function(f"document.querySelectorAll('li.task').length > {before}", timeout=10000)
    return page.locator("li.task").first  # newest first


def test_demo_spa_shows_live_progress_cancel_failure_and_isolation(
    start_server: Callable[..., Server], worker: Worker, browser: Any
):
    server = start_server()
    page = log_in(browser, server, "alice")

    task = start_task(page, steps=20, seconds=0.15)
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = int(task.locator("progress").get_attribute("value") or 0)
        if not seen or value != seen[-1]:
            seen.append(value)
        if value == 100 and task.get_attribute("data-state") == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert seen == sorted(seen), f"the bar must only move forward: {seen}"
    assert len([v for v in seen if 0 < v < 100]) >= 3, f"the bar must advance at least three times: {seen}"
    assert seen[-1] == 100
    assert task.get_attribute("data-state") == "SUCCEEDED"
    task.locator("a.name").click()
    page.wait_for_selector("#artifacts li[data-name='Output']")
    assert "done: 20 steps" in page.inner_text("#artifacts")
    page.goto(f"{server.http}/#/")
    page.wait_for_selector('#connection[data-state="connected"]')

    canceled = start_task(page, steps=50, seconds=0.2)
    page.wait_for_function("document.querySelector('li.task')?.dataset.state === 'IN_PROGRESS'", timeout=15000)
    canceled.locator("button[data-action=cancel]").click()
    page.wait_for_function("document.querySelector('li.task')?.dataset.state === 'CANCELED'", timeout=15000)

    failed = start_task(page, steps=5, seconds=0.1, fail_at=2)
    page.wait_for_function("document.querySelector('li.task')?.dataset.state === 'FAILED'", timeout=15000)
    failed.locator("a.name").click()
    page.wait_for_selector("#artifacts li[data-name='Error']")
    assert "Failed at step 2" in page.inner_text("#artifacts")
    page.goto(f"{server.http}/#/")
    page.wait_for_selector("li.task")
    states = page.eval_on_selector_all("li.task", "items => items.map(i => i.dataset.state)")
    assert states == ["FAILED", "CANCELED", "SUCCEEDED"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "spa-finished.png"), full_page=True)

    other = log_in(browser, server, "bob")
    other.wait_for_selector("#no-tasks")
    assert other.locator("li.task").count() == 0
    assert not re.search(r"Demo task", other.inner_text("main"))

    # the server restarts while a task is deleted: the page says so, reconnects, and is right again
    server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=15000)
    in_thread(lambda: UserTaskStatus.objects.filter(name="Demo task (50 steps)").delete())
    start_server(port=server.port)
    page.wait_for_selector('#connection[data-state="connected"]', timeout=30000)
    page.wait_for_function("document.querySelectorAll('li.task').length === 2", timeout=10000)
    states = page.eval_on_selector_all("li.task", "items => items.map(i => i.dataset.state)")
    assert states == ["FAILED", "SUCCEEDED"]


def in_thread(work: Callable[[], object]) -> None:
    """Run ORM work beside Playwright's event loop, which forbids it in this thread."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
