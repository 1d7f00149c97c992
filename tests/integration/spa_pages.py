"""Driving the demo SPA in Chromium: logging in, starting tasks, recording what its bars showed, holding
back or cutting its websocket and reading the list subscription's frames, and checking a page with axe-core."""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from user_tasks_graphql.models import UserTaskState, UserTaskStatus

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
    page = new_page(browser, viewport)
    sign_in(page, server, username)
    wait_connected(page)
    return page


def new_page(browser: Any, viewport: dict[str, int] = DESKTOP) -> Any:
    """A page in a new browser session, to watch or route before it loads the SPA."""
    return browser.new_context(viewport=viewport, accept_downloads=True).new_page()


def sign_in(page: Any, server: Server, username: str) -> None:
    """Log in through the form; the SPA loads, without waiting for its websocket."""
    page.goto(f"{server.http}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret")
    page.click("button[type=submit]")


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


def operations(posts: list[str]) -> list[str]:
    return [json.loads(post)["operationName"] for post in posts]


def wait_for_states(page: Any, expected: list[tuple[str, str]], timeout: float = 10000) -> None:
    """Until the list shows ``expected`` (uuid, state) rows in this order; then it must."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(SAME_STATES, arg=[list(pair) for pair in expected], timeout=timeout)
    shown = states(page)
    assert shown == expected, f"the list shows {shown}, not {expected}"


SAME_STATES = """expected => JSON.stringify([...document.querySelectorAll('li.task')]
  .map(i => [i.dataset.uuid, i.dataset.state])) === JSON.stringify(expected)"""


def wait_until(page: Any, condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll a condition on what Playwright's events recorded, letting them arrive meanwhile."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        page.wait_for_timeout(50)
    return value


def list_event(frame: str | bytes) -> dict[str, Any] | None:
    """The list subscription's event a server-to-page websocket frame carries, if it is one."""
    message = json.loads(frame)
    data = (message.get("payload") or {}).get("data") if message.get("type") == "next" else None
    return (data or {}).get("userTaskStatusChanges")


class ListFrames:
    """What the page's websockets carried for the list: each subscribe's ``since``, each event."""

    def __init__(self, page: Any) -> None:
        self.since: list[str | None] = []
        self.events: list[dict[str, Any]] = []
        page.on("websocket", lambda ws: [ws.on("framesent", self.sent), ws.on("framereceived", self.received)])

    def sent(self, frame: str | bytes) -> None:
        message = json.loads(frame)
        if message.get("type") == "subscribe" and message["payload"].get("operationName") == "TaskListChanges":
            self.since.append(message["payload"]["variables"].get("since"))

    def received(self, frame: str | bytes) -> None:
        if event := list_event(frame):
            self.events.append(event)

    def synced(self) -> list[str]:
        return [event["watermark"] for event in self.events if event["kind"] == "SYNCED"]


class RoutedSockets:
    """The page's websockets reach the server through Playwright. ``hold``: what the page sends waits
    for ``release()`` (graphql-ws subscribes once the server acknowledged its init); ``cut``: the first
    socket closes right after the first list change it brings; ``refuse``: the first list subscribe
    asks for a watermark the server never gave."""

    def __init__(self, page: Any, hold: bool = False, cut: bool = False, refuse: bool = False) -> None:
        self.holding, self.cut, self.refuse = hold, cut, refuse
        self.held: list[tuple[Any, str | bytes]] = []
        self.opened = 0
        self.cut_after: dict[str, Any] | None = None
        page.route_web_socket("**/graphql/", self.route)

    def route(self, to_page: Any) -> None:
        self.opened += 1
        to_server = to_page.connect_to_server()
        to_page.on_message(lambda message: self.to_server(to_server, message))
        if self.cut and self.opened == 1:
            to_server.on_message(lambda message: self.to_page_until_cut(to_page, to_server, message))

    def to_server(self, to_server: Any, message: str | bytes) -> None:
        sent = json.loads(message)
        if self.refuse and sent.get("type") == "subscribe" and "since" in sent["payload"]["variables"]:
            self.refuse = False
            sent["payload"]["variables"]["since"] = REFUSED_WATERMARK
            message = json.dumps(sent)
        if self.holding:
            self.held.append((to_server, message))
        else:
            to_server.send(message)

    def release(self) -> None:
        self.holding = False
        for to_server, message in self.held:
            to_server.send(message)
        self.held.clear()

    def to_page_until_cut(self, to_page: Any, to_server: Any, message: str | bytes) -> None:
        if self.cut_after is not None:
            return  # what the server sent after the cut never arrives
        to_page.send(message)
        event = list_event(message)
        if event and event["kind"] == "CHANGED":
            self.cut_after = event
            to_page.close(code=1012, reason="Service restart")  # graphql-ws retries after this code
            to_server.close()


REFUSED_WATERMARK = "a watermark this server never gave"


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


def alice_statuses() -> list[tuple[str, str]]:
    rows = UserTaskStatus.objects.filter(user__username="alice", parent=None).order_by("-created")
    return [(str(uuid), UserTaskState(state).name) for uuid, state in rows.values_list("uuid", "state")]
