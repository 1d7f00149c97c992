"""The demo SPA in headless Chromium against a live server, a real worker and the Redis layer.

What a person sees: live bars, cancel (shown before the server answers) and failure, a server
restart survived, a canvas's tree finishing, artifacts shown, linked and downloaded, two tabs
agreeing (a task deleted in one leaves the other too), a second user seeing nothing, and pages that
axe-core, the keyboard and a phone's width accept. test_list.py forces each gap
of the list's subscription.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from user_tasks_graphql.models import UserTaskArtifact, UserTaskState, UserTaskStatus

from ..conftest import REPO, Server, Worker
from ..spa_pages import (
    PHONE,
    alice_statuses,
    fits_width,
    graphql_posts,
    in_thread,
    log_in,
    open_tab,
    record_bars,
    recorded_bars,
    row,
    save_screenshot,
    serious_axe_violations,
    settle,
    start_canvas,
    start_task,
    states,
    tab_to,
    wait_connected,
    wait_state,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# UPDATE_DOCS_IMAGES=1 writes the screenshots README.md shows
DOCS_IMAGES = REPO / "docs" / "img" if os.environ.get("UPDATE_DOCS_IMAGES") else None
ALL_CHILDREN = "[...document.querySelectorAll('#children li.child')]"


def only_forward(trail: list[tuple[int, str]]) -> bool:
    values = [value for value, _ in trail]
    return values == sorted(values)


def test_the_list_follows_progress_cancel_and_failure_live_and_recovers_from_a_restart(
    start_server: Callable[..., Server], start_worker: Callable[..., Worker], media: dict[str, str], browser: Any
):
    start_worker(**media)
    server = start_server(**media)
    page = log_in(browser, server, "alice")
    page.wait_for_selector("#no-tasks")
    page.fill("#steps", "1000")
    page.fill("#step-seconds", "1")
    page.click("#start")
    page.wait_for_selector("#notice")
    assert page.inner_text("#notice").startswith("A demo may run for at most 300 s"), "the server's reason, shown"
    page.click("#notice button")
    assert page.locator("#notice, li.task").count() == 0
    record_bars(page, "li.task")
    posts = graphql_posts(page)

    task = start_task(page, steps=20, seconds=0.15)
    uuid = task.get_attribute("data-uuid")
    wait_state(page, f"li.task[data-uuid='{uuid}']", "SUCCEEDED", timeout=30000)
    trail = recorded_bars(page)[uuid]
    assert only_forward(trail), f"the bar must only move forward: {trail}"
    assert len({v for v, _ in trail if 0 < v < 100}) >= 3, f"the bar must advance at least three times: {trail}"
    assert trail[-1] == (100, "SUCCEEDED")
    assert [json.loads(p)["operationName"] for p in posts] == ["StartTask"], "events update the cache: no refetch"

    task.locator("a.name").click()
    page.wait_for_selector("#artifacts li[data-name='Output']")
    assert "done: 20 steps" in page.inner_text("#artifacts")
    assert page.get_attribute("#task", "data-state") == "SUCCEEDED"
    assert page.get_attribute("#task [role=progressbar]", "aria-valuenow") == "100"
    assert page.inner_text("#attempts") == "1"
    page.goto(f"{server.http}/#/")
    wait_connected(page)

    # cancel shows at once, goes back when the server refuses, and holds when it accepts
    canceled = start_task(page, steps=50, seconds=0.2)
    canceled_row = f"li.task[data-uuid='{canceled.get_attribute('data-uuid')}']"
    wait_state(page, canceled_row, "IN_PROGRESS")
    held: list[Any] = []
    page.route(
        "**/graphql/", lambda r: held.append(r) if "CancelTask" in (r.request.post_data or "") else r.continue_()
    )
    canceled.locator("button[data-action=cancel]").click()
    wait_state(page, canceled_row, "CANCELED", timeout=5000)
    assert len(held) == 1, "canceled on screen while the request is still held"
    refusal = {"data": None, "errors": [{"message": "No.", "extensions": {"code": "FORBIDDEN"}}]}
    held.pop().fulfill(status=200, content_type="application/json", body=json.dumps(refusal))
    wait_state(page, canceled_row, "IN_PROGRESS", timeout=5000)
    assert page.inner_text("#notice").startswith("You may not do that.")
    page.unroute("**/graphql/")
    canceled.locator("button[data-action=cancel]").click()
    wait_state(page, canceled_row, "CANCELED")
    settle(1)
    assert page.get_attribute(canceled_row, "data-state") == "CANCELED", "no later event undoes the cancel"

    failed = start_task(page, steps=5, seconds=0.1, fail_at=2)
    wait_state(page, "li.task", "FAILED")
    failed.locator("a.name").click()
    page.wait_for_selector("#artifacts li[data-name='Error']")
    assert "Failed at step 2" in page.inner_text("#artifacts")
    page.goto(f"{server.http}/#/")
    page.wait_for_selector("li.task")
    assert [state for _, state in states(page)] == ["FAILED", "CANCELED", "SUCCEEDED"]
    save_screenshot(page, "spa-finished.png", None)

    # the server restarts while a task is deleted: the page says so, reconnects, and is right again
    server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=15000)
    assert page.inner_text("#connection") == "Reconnecting…"
    in_thread(lambda: UserTaskStatus.objects.filter(name="Demo task (50 steps)").delete())
    start_server(port=server.port, **media)
    wait_connected(page, timeout=30000)
    page.wait_for_function("document.querySelectorAll('li.task').length === 2", timeout=10000)
    assert [state for _, state in states(page)] == ["FAILED", "SUCCEEDED"]


def test_a_canvas_page_shows_its_tree_live_to_the_end_and_cancels_it_whole(site: Server, browser: Any):
    page = log_in(browser, site, "alice")
    chain = start_canvas(page, "chain")
    chain.locator("a.name").click()
    page.wait_for_function(f"{ALL_CHILDREN}.length === 3")
    record_bars(page, "#task, #children li.child")
    wait_state(page, "#task", "SUCCEEDED", timeout=30000)
    page.wait_for_function(f"{ALL_CHILDREN}.every(c => c.dataset.state === 'SUCCEEDED')", timeout=10000)
    trails = recorded_bars(page)
    children = [uuid for uuid, _ in states(page, "#children li.child")]
    container = page.get_attribute("#task", "data-uuid")
    assert set(trails) == {container, *children}
    for uuid in [container, *children]:
        assert only_forward(trails[uuid]), f"a bar must only move forward: {trails[uuid]}"
        assert trails[uuid][-1] == (100, "SUCCEEDED"), trails[uuid]
    for uuid in children[1:]:  # started after the page opened: seen from their first step
        assert "PENDING" in {s for _, s in trails[uuid]}, f"a chain's later child waits: {trails[uuid]}"
        assert any(0 < v < 100 for v, _ in trails[uuid]), f"each child's own bar moved: {trails[uuid]}"
    row = in_thread(lambda: UserTaskStatus.objects.get(uuid=container))
    assert row.started is not None
    assert row.finished is not None
    shown_times = page.eval_on_selector_all("#started time, #finished time", "ts => ts.map(t => t.dateTime)")
    assert [datetime.datetime.fromisoformat(moment) for moment in shown_times] == [row.started, row.finished]

    page.goto(f"{site.http}/#/")
    wait_state(page, f"li.task[data-uuid='{container}']", "SUCCEEDED")
    doomed = start_canvas(page, "chain")
    doomed_uuid = doomed.get_attribute("data-uuid")
    doomed.locator("a.name").click()
    wait_state(page, "#task", "IN_PROGRESS")
    page.click("#task button[data-action=cancel]")
    wait_state(page, "#task", "CANCELED", timeout=5000)
    page.wait_for_function(f"{ALL_CHILDREN}.every(c => c.dataset.state === 'CANCELED')", timeout=10000)
    settle(2)  # the running child stops at its next step; nothing runs on
    shown = states(page, "#children li.child")
    assert [state for _, state in shown] == ["CANCELED"] * 3
    stored = in_thread(lambda: list(UserTaskStatus.objects.filter(parent__uuid=doomed_uuid).values_list("state")))
    assert [UserTaskState(state).name for (state,) in stored] == ["CANCELED"] * 3
    values = page.eval_on_selector_all(
        "#children li.child [role=progressbar]", "bars => bars.map(b => +b.ariaValueNow)"
    )
    assert all(value < 100 for value in values), values

    # deleted from its page: back to the list, which no longer shows it; gone with its children
    page.click("#task button[data-action=delete]")
    page.wait_for_selector("#tasks")
    page.wait_for_function(f"!document.querySelector(\"li.task[data-uuid='{doomed_uuid}']\")")
    assert [uuid for uuid, _ in states(page)] == [container]
    assert in_thread(lambda: UserTaskStatus.objects.filter(uuid=doomed_uuid).count()) == 0
    assert in_thread(lambda: UserTaskStatus.objects.filter(parent__uuid=doomed_uuid).count()) == 0


def expected_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "square"])
    for number in range(1, rows + 1):
        writer.writerow([number, number * number])
    return buffer.getvalue().encode()


def add_artifacts(status_uuid: str) -> None:
    status = UserTaskStatus.objects.get(uuid=status_uuid)
    UserTaskArtifact.objects.create(status=status, name="Report", url="https://example.com/reports/42")
    UserTaskArtifact.objects.create(status=status, name="Script", url="javascript:alert(1)")
    UserTaskArtifact.objects.create(status=status, name="Summary", text="20 rows\n<b>not markup</b>")


def test_artifacts_show_text_link_web_addresses_and_download_files_for_their_owner_only(site: Server, browser: Any):
    page = log_in(browser, site, "alice")
    before = page.locator("li.task").count()
    page.click("#start-export")
    page.wait_for_function(f"document.querySelectorAll('li.task').length > {before}")
    uuid = page.locator("li.task").first.get_attribute("data-uuid")
    wait_state(page, f"li.task[data-uuid='{uuid}']", "SUCCEEDED")
    in_thread(lambda: add_artifacts(uuid))
    row(page, uuid).locator("a.name").click()
    page.wait_for_selector("#artifacts li[data-name='Summary']")

    download_link = "#artifacts li[data-name='Output'] a.download"
    with page.expect_download() as started:
        page.click(download_link)
    download = started.value
    assert Path(download.path()).read_bytes() == expected_csv(20)
    assert download.suggested_filename.endswith(".csv")

    link = page.locator("#artifacts li[data-name='Report'] a.url")
    assert link.get_attribute("href") == "https://example.com/reports/42"
    assert "noopener" in (link.get_attribute("rel") or "")
    script = page.locator("#artifacts li[data-name='Script']")
    assert script.locator("a").count() == 0, "a javascript: URL is shown, never linked"
    assert "javascript:alert(1)" in script.inner_text()
    summary = page.locator("#artifacts li[data-name='Summary']")
    assert "<b>not markup</b>" in summary.inner_text()
    assert summary.locator("b").count() == 0, "an artifact's text is text, never markup"

    file_url = page.get_attribute(download_link, "href")
    assert file_url is not None
    assert file_url.startswith("/user-tasks/")
    assert page.request.get(f"{site.http}{file_url}").body() == expected_csv(20)
    other = log_in(browser, site, "bob")
    assert other.request.get(f"{site.http}{file_url}").status == 404, "only the owner may download it"


def test_two_tabs_of_one_user_show_the_same_tasks_from_events_alone(site: Server, browser: Any):
    first = log_in(browser, site, "alice")
    second = open_tab(first, site)
    second.wait_for_selector("#no-tasks")
    record_bars(second, "li.task")
    second_posts = graphql_posts(second)

    task = start_task(first, steps=12, seconds=0.2)
    uuid = task.get_attribute("data-uuid")
    second.wait_for_selector(f"li.task[data-uuid='{uuid}']", timeout=5000)
    assert states(second)[0][0] == uuid, "a task started elsewhere comes in at the top"
    for page in (first, second):
        wait_state(page, f"li.task[data-uuid='{uuid}']", "SUCCEEDED")
    trail = recorded_bars(second)[uuid]
    assert only_forward(trail), trail
    assert len({v for v, _ in trail if 0 < v < 100}) >= 2, f"the other tab's bar moved live: {trail}"

    long = start_task(second, steps=50, seconds=0.2)
    long_uuid = long.get_attribute("data-uuid")
    first.wait_for_selector(f"li.task[data-uuid='{long_uuid}']", timeout=5000)
    wait_state(first, f"li.task[data-uuid='{long_uuid}']", "IN_PROGRESS")
    row(first, long_uuid).locator("button[data-action=cancel]").click()
    wait_state(second, f"li.task[data-uuid='{long_uuid}']", "CANCELED")

    canvas = start_canvas(first, "group")
    canvas_uuid = canvas.get_attribute("data-uuid")
    for page in (first, second):
        wait_state(page, f"li.task[data-uuid='{canvas_uuid}']", "SUCCEEDED", timeout=30000)
    settle(0.5)
    stored = in_thread(alice_statuses)
    assert states(first) == states(second) == stored
    assert [s for _, s in stored] == ["SUCCEEDED", "CANCELED", "SUCCEEDED"]
    assert [json.loads(p)["operationName"] for p in second_posts] == ["StartTask"], "the rest came as events"

    # a running task deleted elsewhere (here, straight from the database): its open page says so
    doomed = start_task(first, steps=50, seconds=0.2)
    doomed_uuid = doomed.get_attribute("data-uuid")
    second.goto(f"{site.http}/#/task/{doomed_uuid}")
    wait_state(second, "#task", "IN_PROGRESS")
    in_thread(lambda: UserTaskStatus.objects.filter(uuid=doomed_uuid).delete())
    second.wait_for_selector("p[role=alert]:has-text('This task was deleted.')", timeout=5000)


def test_a_second_user_sees_nothing_of_the_first_users_tasks(site: Server, browser: Any):
    alice = log_in(browser, site, "alice")
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#no-tasks")
    record_bars(bob, "li.task")

    task = start_task(alice, steps=8, seconds=0.1)
    uuid = task.get_attribute("data-uuid")
    canvas = start_canvas(alice, "group")
    wait_state(alice, f"li.task[data-uuid='{uuid}']", "SUCCEEDED")
    wait_state(alice, f"li.task[data-uuid='{canvas.get_attribute('data-uuid')}']", "SUCCEEDED", timeout=30000)
    settle(1)
    assert bob.evaluate("window.__bars") == {}, "no row of another user's task ever showed"
    assert bob.locator("#no-tasks").is_visible()
    assert not re.search(r"Demo", bob.inner_text("main"))

    bob.goto(f"{site.http}/#/task/{uuid}")
    bob.wait_for_selector("p[role=alert]:has-text('Task not found.')")
    bob.goto(f"{site.http}/#/")
    mine = start_task(bob, steps=2, seconds=0.05)
    assert [u for u, _ in states(bob)] == [mine.get_attribute("data-uuid")]
    settle(0.5)
    assert row(alice, mine.get_attribute("data-uuid")).count() == 0
    assert len(states(alice)) == 2


def add_old_tasks(count: int) -> None:
    alice = get_user_model().objects.get(username="alice")
    for number in range(count):
        UserTaskStatus.objects.create(user=alice, task_id=f"old-{number}", task_class="demo.demo_task",
                                      name=f"Old task {number}", state=UserTaskState.SUCCEEDED, completed_steps=1,
                                      total_steps=1)  # fmt: skip


def test_the_list_loads_more_pages_keeps_new_tasks_on_top_and_deletes(site: Server, browser: Any):
    in_thread(lambda: add_old_tasks(25))
    page = log_in(browser, site, "alice")
    page.wait_for_selector("#load-more")
    assert page.locator("li.task").count() == 20
    assert page.inner_text(".count") == "(20 of 25)"

    new = start_task(page, steps=2, seconds=0.05)
    new_uuid = new.get_attribute("data-uuid")
    assert page.inner_text(".count") == "(21 of 26)"
    page.click("#load-more")
    page.wait_for_function("document.querySelectorAll('li.task').length === 26")
    page.wait_for_selector("#load-more", state="detached")
    wait_state(page, f"li.task[data-uuid='{new_uuid}']", "SUCCEEDED")
    shown = states(page)
    assert shown == in_thread(alice_statuses), "newest first, each task once, the new one on top"
    assert shown[0][0] == new_uuid

    oldest = shown[-1][0]
    row(page, oldest).locator("button[data-action=delete]").click()
    page.wait_for_function("document.querySelectorAll('li.task').length === 25")
    assert page.inner_text(".count") == "(25 of 25)"
    settle(1)
    assert row(page, oldest).count() == 0, "no late event brings a deleted task back"
    assert in_thread(lambda: UserTaskStatus.objects.filter(uuid=oldest).exists()) is False


def test_pages_pass_axe_work_from_the_keyboard_and_fit_a_phone(site: Server, browser: Any):
    page = log_in(browser, site, "alice")
    start_task(page, steps=3, seconds=0.05)
    wait_state(page, "li.task", "SUCCEEDED")
    failed = start_task(page, steps=4, seconds=0.05, fail_at=2)
    failed_uuid = failed.get_attribute("data-uuid")
    wait_state(page, "li.task", "FAILED")

    # the keyboard alone: fill the form, submit it with Enter
    tab_to(page, "#steps")
    page.keyboard.press("Control+A")
    page.keyboard.type("48")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("0.25")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "fail-at-step"
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")  # the last task's value stays in the form: this one must not fail
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('li.task').length === 3")
    typed = page.locator("li.task").first
    typed_uuid = typed.get_attribute("data-uuid")
    assert typed.locator("a.name").inner_text() == "Demo task (48 steps)"
    start_canvas(page, "group")
    page.wait_for_function(
        "uuid => +document.querySelector(`li.task[data-uuid='${uuid}'] [role=progressbar]`).ariaValueNow >= 10",
        arg=typed_uuid,
        timeout=10000,
    )
    bars = page.locator("li.task [role=progressbar]")
    assert bars.count() == 4
    assert all(bars.nth(i).get_attribute("aria-valuenow") for i in range(4))
    assert serious_axe_violations(page) == []
    save_screenshot(page, "spa-list.png", DOCS_IMAGES)

    # open the typed task with Enter: its title takes the focus; the time left is estimated
    tab_to(page, f"li.task[data-uuid='{typed_uuid}'] a.name")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#task[data-uuid='{typed_uuid}']")
    assert page.evaluate("document.activeElement.tagName") == "H2"
    page.wait_for_function("/^About \\d+ s left$/.test(document.querySelector('#task .eta').textContent)",
                           timeout=5000)  # fmt: skip
    seconds_left = int(re.findall(r"\d+", page.inner_text("#task .eta"))[0])
    done = int(page.inner_text("#task .steps").split()[0])
    remaining = (48 - done) * 0.25  # at the task's own pace
    assert remaining / 2 - 1 <= seconds_left <= remaining * 2 + 1, f"{seconds_left} s left with {done} of 48 done?"
    assert serious_axe_violations(page) == []
    tab_to(page, "#task button[data-action=cancel]")
    page.keyboard.press("Enter")
    wait_state(page, "#task", "CANCELED", timeout=5000)

    # a canvas's page while it runs, and a failed task's page with its error
    page.goto(f"{site.http}/#/")
    chain = start_canvas(page, "chain")
    chain_uuid = chain.get_attribute("data-uuid")
    chain.locator("a.name").click()
    second_child_bar = f"{ALL_CHILDREN}[1]?.querySelector('[role=progressbar]').ariaValueNow"
    page.wait_for_function(f"+{second_child_bar} >= 40", timeout=15000)  # the second of three under way
    assert serious_axe_violations(page) == []
    save_screenshot(page, "spa-task.png", DOCS_IMAGES)
    page.goto(f"{site.http}/#/task/{failed_uuid}")
    page.wait_for_selector("#artifacts li[data-name='Error']")
    assert serious_axe_violations(page) == []

    # a phone: nothing wider than the screen, bars across the width
    phone = log_in(browser, site, "alice", viewport=PHONE)
    phone.wait_for_selector("li.task")
    assert fits_width(phone)
    widths = phone.eval_on_selector_all("li.task [role=progressbar]", "bars => bars.map(b => b.clientWidth)")
    assert len(widths) == 5
    assert min(widths) > PHONE["width"] / 2, widths
    save_screenshot(phone, "spa-phone-list.png", None)
    phone.goto(f"{site.http}/#/task/{chain_uuid}")
    phone.wait_for_selector("#children li.child")
    assert fits_width(phone)
    save_screenshot(phone, "spa-phone-task.png", None)
