"""The demo SPA's list follows every change after the watermark it was read at, in headless
Chromium against a live server: each gap forced, changes between the list query and its
subscription, a task deleted in another tab, changes while the server restarts (resumed from the
newest watermark, never read again), a socket lost in the middle of a replay, and a watermark the
server refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model

from user_tasks_graphql.models import UserTaskState, UserTaskStatus

from ..conftest import Server
from ..spa_pages import (
    REFUSED_WATERMARK,
    ListFrames,
    RoutedSockets,
    alice_statuses,
    graphql_posts,
    in_thread,
    log_in,
    new_page,
    open_tab,
    operations,
    row,
    settle,
    sign_in,
    states,
    wait_connected,
    wait_for_states,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def add_task(name: str, state: str = UserTaskState.PENDING) -> UserTaskStatus:
    alice = get_user_model().objects.get(username="alice")
    return UserTaskStatus.objects.create(user=alice, task_id=str(uuid4()), task_class="demo.demo_task",
                                         name=name, state=state, total_steps=4)  # fmt: skip


def three_tasks() -> list[UserTaskStatus]:
    return [add_task(name) for name in ("Quiet", "Finishes", "Doomed")]


def create_finish_delete(tasks: list[UserTaskStatus], name: str) -> None:
    """What the list must show without reading itself again: a new task, one finished, one deleted."""
    _, finishes, doomed = tasks
    finishes.start()
    finishes.succeed()
    doomed.delete()
    add_task(name)


def test_changes_between_the_list_query_and_its_subscription_all_show(server: Server, browser: Any):
    tasks = in_thread(three_tasks)
    page = new_page(browser)
    sockets = RoutedSockets(page, hold=True)
    posts = graphql_posts(page)
    sign_in(page, server, "alice")
    page.wait_for_selector("li.task")
    assert [state for _, state in states(page)] == ["PENDING"] * 3, "the list was read"
    wait_until(page, lambda: sockets.held, "the websocket's init, held back")
    assert sockets.opened == 1
    assert page.get_attribute("#connection", "data-state") == "connecting", "not acknowledged: no subscription yet"

    in_thread(lambda: create_finish_delete(tasks, "Created meanwhile"))
    sockets.release()
    wait_connected(page)
    wait_for_states(page, in_thread(alice_statuses))
    assert page.locator("li.task a.name").all_inner_texts() == ["Created meanwhile", "Finishes", "Quiet"]
    assert page.inner_text(".count") == "(3 of 3)"
    assert operations(posts) == ["TaskList"], "the subscription brought the changes: no second list query"


def test_a_task_deleted_in_one_tab_leaves_the_other_without_a_reload(server: Server, browser: Any):
    kept, doomed = in_thread(lambda: [add_task(name, UserTaskState.SUCCEEDED) for name in ("Kept", "Doomed")])
    first = log_in(browser, server, "alice")
    second = open_tab(first, server)
    for page in (first, second):
        wait_for_states(page, [(str(doomed.uuid), "SUCCEEDED"), (str(kept.uuid), "SUCCEEDED")])
    second_posts = graphql_posts(second)

    row(first, str(doomed.uuid)).locator("button[data-action=delete]").click()
    for page in (first, second):
        wait_for_states(page, [(str(kept.uuid), "SUCCEEDED")], timeout=5000)
    assert second.inner_text(".count") == "(1 of 1)"
    assert states(second) == in_thread(alice_statuses)
    settle(1)
    assert row(second, str(doomed.uuid)).count() == 0, "nothing brings it back"
    assert second_posts == [], "the deletion came as an event"


def test_after_a_server_restart_the_list_resumes_from_its_newest_watermark(
    start_server: Callable[..., Server], browser: Any
):
    watermarks = {"TEST_USER_TASKS_WATERMARK_INTERVAL": "0.3"}  # the watermark moves on soon after a change
    server = start_server(**watermarks)
    tasks = in_thread(three_tasks)
    page = new_page(browser)
    frames = ListFrames(page)
    posts = graphql_posts(page)
    sign_in(page, server, "alice")
    wait_connected(page)
    wait_for_states(page, in_thread(alice_statuses))
    live = in_thread(lambda: add_task("Live"))
    page.wait_for_selector(f"li.task[data-uuid='{live.uuid}']", timeout=5000)
    wait_until(page, lambda: len(frames.synced()) >= 2, "the watermark to move on after the live change")

    server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=15000)
    assert len(frames.since) == 1
    listed, newest = frames.since[0], frames.synced()[-1]  # the last one the socket brought
    assert listed is not None, "subscribed from the list's watermark"
    assert newest != listed
    in_thread(lambda: create_finish_delete(tasks, "Created while down"))
    start_server(port=server.port, **watermarks)
    wait_connected(page, timeout=30000)
    wait_for_states(page, in_thread(alice_statuses))
    assert "Created while down" in page.inner_text("#tasks")
    assert frames.since[1:] == [newest], "subscribed again once, from the newest watermark"
    assert operations(posts) == ["TaskList"], "resumed: the list was not read again"


def test_a_socket_lost_in_the_middle_of_a_replay_resumes_from_before_it(server: Server, browser: Any):
    page = new_page(browser)
    sockets = RoutedSockets(page, hold=True, cut=True)
    frames = ListFrames(page)
    posts = graphql_posts(page)
    sign_in(page, server, "alice")
    page.wait_for_selector("#no-tasks")
    first, second = in_thread(lambda: [add_task("First"), add_task("Second")])
    sockets.release()
    wait_until(page, lambda: sockets.opened == 2, "the SPA to connect again after the cut")
    assert sockets.cut_after is not None
    assert sockets.cut_after["status"]["uuid"] == str(first.uuid), "cut after the first of the replay"
    wait_connected(page)
    # a replay's changes carry the watermark it started from: resumed from there, both come again
    wait_for_states(page, [(str(second.uuid), "PENDING"), (str(first.uuid), "PENDING")])
    assert len(frames.since) == 2
    assert frames.since[1] == frames.since[0] == sockets.cut_after["watermark"]
    assert operations(posts) == ["TaskList"]


def test_a_watermark_the_server_refuses_reloads_the_list_and_follows_it_from_the_new_one(server: Server, browser: Any):
    in_thread(lambda: add_task("Before"))
    page = new_page(browser)
    RoutedSockets(page, refuse=True)
    frames = ListFrames(page)
    posts = graphql_posts(page)
    sign_in(page, server, "alice")
    wait_connected(page)
    wait_until(page, lambda: len(frames.since) == 2, "a subscription from the list read again")
    assert frames.since[0] == REFUSED_WATERMARK
    assert frames.since[1] not in (None, REFUSED_WATERMARK)
    assert operations(posts) == ["TaskList", "TaskList"], "read again once (WATERMARK_EXPIRED)"
    after = in_thread(lambda: add_task("After"))
    page.wait_for_selector(f"li.task[data-uuid='{after.uuid}']", timeout=5000)
    wait_for_states(page, in_thread(alice_statuses))
    assert page.locator("#notice").count() == 0, "nothing for the user to do"


def test_a_page_read_before_a_change_that_came_first_does_not_undo_it(server: Server, browser: Any):
    """The next page is read while its tasks are one running, one there; the first finishes and
    the second is deleted, and their messages reach the page before that read's response does: the
    task stays finished, the deleted one gone."""

    def tasks() -> tuple[UserTaskStatus, UserTaskStatus]:
        doomed, running = add_task("Doomed", UserTaskState.SUCCEEDED), add_task("Running", UserTaskState.IN_PROGRESS)
        for number in range(20):
            add_task(f"Newer {number}", UserTaskState.SUCCEEDED)
        return doomed, running

    doomed, running = in_thread(tasks)
    page = log_in(browser, server, "alice")
    page.wait_for_selector("#load-more")

    def read_then_finish(route: Any) -> None:
        if '"after"' not in (route.request.post_data or ""):
            route.continue_()
            return
        response = route.fetch()  # the page as read now: one task running, the other there
        in_thread(running.succeed)
        in_thread(doomed.delete)
        settle(1.5)  # their messages reach the page meanwhile
        route.fulfill(response=response)

    page.route("**/graphql/", read_then_finish)
    page.click("#load-more")
    page.wait_for_selector("#load-more", state="detached")
    wait_for_states(page, in_thread(alice_statuses))
    assert row(page, str(running.uuid)).get_attribute("data-state") == "SUCCEEDED"
    assert page.inner_text(".count") == "(21 of 21)"
