"""The gapless list: replaying the changes after a list's watermark, and live list subscriptions.

1. Replay. One user with many statuses, the newest of them changed (then, separately, some changed
   and some deleted) after a watermark that the list query gave. Ours: ``userTaskStatusChanges(since:)``
   on an open socket, from ``subscribe`` to ``SYNCED``. Baseline, alternating with it in the same
   run: the same client reloading the same rows with the list query over HTTP, pages of 100 (the
   largest page), the first with a watermark. Also a resume right after a watermark (no change)
   against a subscription without ``since``, and the database read of a replay timed in this
   process (``changes_since``, then the rows as events).
2. Live. Subscribers of ``userTaskStatusChanges`` without ``since`` against the older
   ``userTaskStatuses``: each kind alone on a fresh server (its CPU per write), then both on one
   server, sockets of the two kinds taking turns; a status written from this process (each
   increment one write and one event), write to client receipt.

A real uvicorn server (``bench.servers``), the Redis channel layer and PostgreSQL throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import platform
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from bench.clients import CONTEXT, gather_replies, median, ms, ratio, started, timing
from bench.harness import Timing, measure, report
from bench.list_clients import LIVE, Pages, Socket, connect, live_main, until_synced
from bench.servers import cpu_seconds, running_server, session_cookie, websocket_target
from user_tasks_graphql.core.changes import changes_since
from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema.filters import filter_q
from user_tasks_graphql.schema.list_changes import Viewer
from user_tasks_graphql.schema.watermarks import point_from

CHANGED, DELETED = 1_000, 100
RATE, SUBSCRIBERS, PROCESSES = 10.0, 100, 4


def _populate(user: Any, rows: int) -> list[int]:
    """``rows`` finished statuses of ``user``; their ids, newest first (the list's order)."""
    UserTaskStatus.objects.bulk_create(
        [UserTaskStatus(user=user, task_id=str(uuid.uuid4()), task_class="bench.export", name=f"Export {i}",
                        total_steps=10, completed_steps=i % 11, state="Succeeded") for i in range(rows)],
        batch_size=2000,
    )  # fmt: skip
    return list(UserTaskStatus.objects.filter(user=user).order_by("-created", "-uuid").values_list("pk", flat=True))


def _change(ids: list[int]) -> None:
    UserTaskStatus.objects.filter(pk__in=ids).update(name="Renamed", seq=F("seq") + 1, modified=timezone.now())


class Replays:
    """One socket, kept open across samples: each sample is a new operation on it."""

    def __init__(self, port: int, cookie: str) -> None:
        self.url, self.headers = websocket_target(port, cookie)
        self.runner = asyncio.Runner()
        self.ws = self.runner.run(connect(self.url, self.headers))
        self.operations = 0

    def replay(self, since: str | None, changed: int, deleted: int) -> float:
        self.operations += 1
        elapsed, got, gone = self.runner.run(until_synced(self.ws, str(self.operations), since))
        if (got, gone) != (changed, deleted):
            raise RuntimeError(f"replay sent {got} CHANGED and {gone} DELETED, not {changed} and {deleted}")
        return elapsed

    def close(self) -> None:
        self.runner.run(self.ws.close())
        self.runner.close()


def _alternate(pid: int, calls: dict[str, Callable[[], float]], repeat: int) -> list[tuple[Timing, float]]:
    """Each call ``repeat`` times, taking turns (one warm-up each): its timings (what it returns)
    and the server's CPU seconds per call."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    cpu = dict.fromkeys(calls, 0.0)
    for round_number in range(repeat + 1):
        for name, call in calls.items():
            before = cpu_seconds(pid)
            elapsed = call()
            if round_number:
                samples[name].append(elapsed)
                cpu[name] += cpu_seconds(pid) - before
    return [(Timing(name, samples[name]), cpu[name] / repeat) for name in calls]


def _timed(call: Callable[[], object]) -> Callable[[], float]:
    def timed() -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    return timed


def _table(title: str, rows: list[tuple[Timing, float]]) -> str:
    base = rows[0][0]
    lines = [f"### {title}", "", f"{len(base.samples)} samples each, taking turns", "",
             "| workload | p50 ms | p99 ms | p50 / baseline | server CPU ms per sample |",
             "|---|---|---|---|---|"]  # fmt: skip
    for sample, cpu in rows:
        lines.append(f"| {sample.name} | {ms(sample.p50)} | {ms(sample.p99)} | {ratio(sample.p50, base.p50)} | "
                     f"{cpu * 1000:,.1f} |")  # fmt: skip
    return "\n".join(lines)


def _reads(who: Viewer, marks: dict[str, str], repeat: int) -> list[Timing]:
    """The replay's database read in this process: ``changes_since``, with or without the rows as events."""

    def reader(mark: str | None, load: bool) -> Callable[[], None]:
        def read() -> None:
            changes = changes_since(point_from(mark) if mark else None, who.rows(), who.tombstones(), True)
            if load:
                load_events(UserTaskStatus, changes.status_ids)

        return read

    timings = [measure("no since (the point only)", reader(None, False), repeat, warmup=3)]
    for label, mark in marks.items():
        timings.append(measure(f"{label}: changes_since", reader(mark, False), repeat, warmup=3))
        timings.append(measure(f"{label}: changes_since + rows as events", reader(mark, True), repeat, warmup=3))
    return timings


def _replays(quick: bool) -> str:
    rows, repeat = (2_000, 5) if quick else (10_000, 20)
    username = f"lister-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    user = get_user_model().objects.get(username=username)
    ids = _populate(user, rows)
    who = Viewer(user, filter_q(None), False)
    tables = []
    with running_server() as (port, server):
        pages, sockets = Pages(port, cookie), Replays(port, cookie)
        try:
            since = pages.watermark()
            _change(ids[:CHANGED])
            reads = _reads(who, {f"{CHANGED:,} changed": since}, repeat)
            measured = _alternate(server.pid, {
                "reload: list query, 10 pages of 100 over HTTP": _timed(lambda: pages.reload(CHANGED)),
                f"replay of {CHANGED:,} CHANGED, subscribe to SYNCED": lambda: sockets.replay(since, CHANGED, 0),
            }, repeat)  # fmt: skip
            tables.append(_table(f"Replay of {CHANGED:,} changes of {rows:,} statuses against reloading", measured))
            fresh = pages.watermark()
            reads += _reads(who, {"0 changed": fresh}, repeat)[1:]
            measured = _alternate(server.pid, {
                "no since: subscribe to SYNCED": lambda: sockets.replay(None, 0, 0),
                "since a watermark just taken (0 changes): subscribe to SYNCED": lambda: sockets.replay(fresh, 0, 0),
            }, repeat * 3)  # fmt: skip
            tables.append(_table(f"Resume with nothing to replay ({rows:,} statuses) against no since", measured))
            mixed = f"{CHANGED - DELETED:,} changed + {DELETED} deleted"
            before = pages.watermark()
            newest = ids[:CHANGED]
            _change([pk for i, pk in enumerate(newest) if i % 10])
            UserTaskStatus.objects.filter(pk__in=newest[::10]).delete()
            reads += _reads(who, {mixed: before}, repeat)[1:]
            measured = _alternate(server.pid, {
                "reload: list query, 10 pages of 100 over HTTP": _timed(lambda: pages.reload(CHANGED)),
                f"replay of {mixed}, subscribe to SYNCED": lambda: sockets.replay(before, CHANGED - DELETED, DELETED),
            }, repeat)  # fmt: skip
            tables.append(_table(f"Replay of {mixed} of {rows:,} statuses against reloading", measured))
        finally:
            sockets.close()
    tables.append(report(f"The replay's read in-process ({rows:,} statuses of the user)", reads[0], reads[1:]))
    return "\n\n".join(tables)


def _live_phase(cookie: str, user: Any, kinds: list[str], seconds: float, queries: dict[str, str] = LIVE
                ) -> dict[str, Any]:  # fmt: skip
    """``kinds`` subscribers on a fresh server; a status written ``RATE`` times a second, then succeeded."""
    with override_settings(USER_TASKS_PROGRESS_INTERVAL=0):
        status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="bench.live",
                                               name="live", total_steps=10**6, state="In Progress")  # fmt: skip
        replies, done = CONTEXT.Queue(), CONTEXT.Event()
        with running_server() as (port, server):
            url, headers = websocket_target(port, cookie)
            bounds = [len(kinds) * i // PROCESSES for i in range(PROCESSES + 1)]
            chunks = [kinds[start:end] for start, end in itertools.pairwise(bounds)]  # each with both kinds in turn
            processes = [CONTEXT.Process(target=live_main, daemon=True,
                                         args=(url, headers, chunk, queries, replies, done))
                         for chunk in chunks if chunk]  # fmt: skip
            with started(processes, done):
                gather_replies(replies, "subscribed", len(processes), 180)
                ready, deadline = 0, time.monotonic() + 60
                while ready < len(processes) and time.monotonic() < deadline:
                    status.increment_completed_steps()  # warm-up: until every subscriber received one
                    with contextlib.suppress(queue.Empty):
                        reply = replies.get(timeout=0.25)
                        ready += reply[0] == "ready"
                        if reply[0] != "ready":  # a process whose sockets all failed reports them at once
                            replies.put(reply)
                time.sleep(0.5)
                cpu, since, writes = cpu_seconds(server.pid), time.time(), int(RATE * seconds)
                start = time.monotonic()
                for step in range(writes + 1):  # the last one on time too, else it replaces the one before
                    time.sleep(max(0.0, start + step / RATE - time.monotonic()))
                    if step < writes:
                        status.increment_completed_steps()
                    else:
                        status.succeed()
                sockets: list[Socket] = [s for batch in gather_replies(replies, "sockets", len(processes), 90, done)
                                         for s in batch]  # fmt: skip
                cpu = cpu_seconds(server.pid) - cpu
    return {"sockets": sockets, "since": since, "writes": writes + 1, "cpu": cpu}


def _live_rows(phase: str, result: dict[str, Any], base: Timing | None) -> tuple[list[str], Timing]:
    rows, first = [], None
    sockets: list[Socket] = result["sockets"]
    delivered = sum(1 for s in sockets for event in s.events if event[1] >= result["since"])
    for kind in ("old", "new"):
        mine = [s for s in sockets if s.kind == kind]
        if not mine:
            continue
        latencies = [r - m for s in mine for r, m, _ in s.events if m >= result["since"]]
        sample = timing(kind, latencies)
        first = first or sample
        reference = base or sample
        name = "userTaskStatuses (old)" if kind == "old" else "userTaskStatusChanges, no since"
        rows.append(f"| {phase} | {name} | {len(mine)} | {ms(sample.p50)} | {ms(sample.p99)} | "
                    f"{ratio(sample.p50, reference.p50)} | {ratio(sample.p99, reference.p99)} | "
                    f"{len(latencies) / (len(mine) * result['writes']):.1%} | {sum(s.finished for s in mine)} | "
                    f"{result['cpu'] / result['writes'] * 1000:,.2f} | "
                    f"{result['cpu'] / max(1, delivered) * 1e6:,.0f} |")  # fmt: skip
    assert first is not None
    return rows, first


def _live(quick: bool) -> str:
    seconds = 5.0 if quick else 20.0
    username = f"live-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    user = get_user_model().objects.get(username=username)
    phases = {
        "old alone": ["old"] * SUBSCRIBERS,
        "new alone": ["new"] * SUBSCRIBERS,
        "both on one server": ["old", "new"] * SUBSCRIBERS,
    }
    results = {phase: _live_phase(cookie, user, kinds, seconds) for phase, kinds in phases.items()}
    lines = [
        f"### Live list subscriptions: {SUBSCRIBERS} subscribers of each kind, one status written {RATE:g} times/s",
        "",
        f"{seconds:g} s of writes per phase, a fresh server each; subscribers in {PROCESSES} client processes",
        "",
        "| phase | subscription | subscribers | write to receipt p50 ms | p99 ms | p50 / old alone | p99 / old alone | "
        "events received / written | SUCCEEDED received | server CPU ms per write | server CPU µs per message |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = None
    for phase, result in results.items():
        rows, first = _live_rows(phase, result, base)
        base = base or first
        lines += rows
    synced = [s.synced for phase in ("new alone", "both on one server") for s in results[phase]["sockets"]
              if s.kind == "new"]  # fmt: skip
    later = sum(s.later_synced for result in results.values() for s in result["sockets"])
    problems = sorted({s.problem for result in results.values() for s in result["sockets"] if s.problem})
    lines += [
        "",
        f"Subscribe to SYNCED without since, {SUBSCRIBERS} sockets subscribing in waves of 50 (both phases): "
        f"p50 {ms(median(synced))} ms, p99 {ms(timing('synced', synced).p99)} ms. SYNCED messages after the "
        f"first (the watermark moving on): {later}. Problems: {'; '.join(problems) or 'none'}. With both kinds on "
        "one server, the CPU columns are that server's whole, per write and per message of either kind.",
    ]
    return "\n".join(lines)


def run(quick: bool = False) -> str:
    head = (
        f"`python bench/run.py{' --quick' if quick else ''} --only list_replay`; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, database {connection.vendor}"
    )
    return "\n\n".join([head, _replays(quick), _live(quick)])
