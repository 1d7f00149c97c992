"""Driving the demo SPA in Chromium: logging in, starting tasks, recording what its bars showed,
and checking a page with axe-core."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import REPO, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
FRONTEND = REPO / "example_site" / "frontend"
MANIFEST = FRONTEND / "dist" / ".vite" / "manifest.json"
AXE = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}

# Records every value and state each matching element shows, from the first change on: a
# MutationObserver sees each render, which polling from Python would miss.
RECORD_BARS = """selector => {
  const seen = window.__bars = window.__bars || {};
  const sample = () => document.querySelectorAll(selector).forEach(item => {
    const bar = item.querySelector('[role=progressbar]');
    const point = [Number(bar.getAttribute('aria-valuenow')), item.dataset.state];
    const trail = (seen[item.dataset.uuid] = seen[item.dataset.uuid] || []);
    const last = trail[trail.length - 1];
    if (!last || last[0] !== point[0] || last[1] !== point[1]) trail.push(point);
  });
  sample();
  new MutationObserver(sample).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def log_in(browser: Any, server: Server, username: str, viewport: dict[str, int] = DESKTOP) -> Any:
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    page.goto(f"{server.http}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret")
    page.click("button[type=submit]")
    wait_connected(page)
    return page


def open_tab(page: Any, server: Server) -> Any:
    """Another tab of the same browser session (same cookies, its own websocket)."""
    tab = page.context.new_page()
    tab.goto(f"{server.http}/")
    wait_connected(tab)
    return tab


def wait_connected(page: Any, timeout: float = 15000) -> None:
    page.wait_for_selector('#connection[data-state="connected"]', timeout=timeout)


def start_task(page: Any, steps: int, seconds: float, fail_at: int | None = None) -> Any:
    """Start a demo task from the form; the newest task's row (the list is newest first)."""
    before = page.locator("li.task").count()
    page.fill("#steps", str(steps))
    page.fill("#step-seconds", str(seconds))
    page.fill("#fail-at-step", "" if fail_at is None else str(fail_at))
    page.click("#start")
    page.wait_for_function(f"document.querySelectorAll('li.task').length > {before}", timeout=10000)
    return page.locator("li.task").first


def start_canvas(page: Any, kind: str) -> Any:
    before = page.locator("li.task").count()
    page.click(f"button[data-canvas={kind}]")
    page.wait_for_function(f"document.querySelectorAll('li.task').length > {before}", timeout=10000)
    return page.locator("li.task").first


def row(page: Any, uuid: str) -> Any:
    return page.locator(f"li.task[data-uuid='{uuid}']")


def wait_state(page: Any, selector: str, state: str, timeout: float = 20000) -> None:
    page.wait_for_function(
        "([selector, state]) => document.querySelector(selector)?.dataset.state === state",
        arg=[selector, state],
        timeout=timeout,
    )


def record_bars(page: Any, selector: str) -> None:
    page.evaluate(RECORD_BARS, selector)


def recorded_bars(page: Any) -> dict[str, list[tuple[int, str]]]:
    trails = page.evaluate("window.__bars")
    return {uuid: [(int(value), state) for value, state in trail] for uuid, trail in trails.items()}


def states(page: Any, selector: str = "li.task") -> list[tuple[str, str]]:
    found = page.eval_on_selector_all(selector, "items => items.map(i => [i.dataset.uuid, i.dataset.state])")
    return [(uuid, state) for uuid, state in found]


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.1 A/AA rules and best practices: the serious and critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
    result = page.evaluate("options => axe.run(document, options)", options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {json.dumps([n['target'] for n in v['nodes']])}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def fits_width(page: Any) -> bool:
    """No horizontal scrolling: everything fits the viewport's width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def tab_to(page: Any, selector: str, presses: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the keyboard focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} was not reached with {presses} presses of Tab")


def graphql_posts(page: Any) -> list[str]:
    """Every POST to /graphql/ the page sends from now on (the list is live, filled as they go)."""
    sent: list[str] = []
    page.on(
        "request", lambda r: sent.append(r.post_data or "") if r.method == "POST" and "/graphql/" in r.url else None
    )
    return sent


def in_thread(work: Callable[[], Any]) -> Any:
    """Run ORM work beside Playwright's event loop, which forbids it in this thread."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def settle(seconds: float) -> None:
    """Let events that must not come have their chance to arrive."""
    time.sleep(seconds)


def save_screenshot(page: Any, name: str, docs_images: Path | None) -> None:
    """Into test-artifacts/ each run; into docs/img/ too when the test is asked to refresh them."""
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / name), full_page=True)
    if docs_images is not None:
        docs_images.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(docs_images / name), full_page=True)
