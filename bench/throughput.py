"""Task throughput through a real Celery worker: what tracking costs per task and per progress call.

One ``celery worker`` process (prefork, 2 children, Redis broker, this project's settings: late
acks, prefetch multiplier 1) runs batches of short tasks whose body is a loop of 0, 10 or 100
progress calls: untracked (the baseline, same loop with no call), on our ``UserTask`` base, on
django-user-tasks' ``UserTask`` base. Each batch is published to a queue the worker does not
consume yet, then the worker is told to consume it, so the caller's publishing (where both
libraries create the status rows) is not mixed into the worker's rate.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import REPO

CALLS = (0, 10, 100)
VARIANTS = (
    ("bench.tasks.bare_calls", "bare Celery task, same loop, no tracking"),
    ("bench.tasks.tracked_calls", "ours: `UserTask`, `self.status.increment_completed_steps()`"),
    ("bench.tasks.anchor_calls", "django-user-tasks `UserTask`, `self.status.increment_completed_steps()`"),
)
WARMUP_PER_VARIANT = 10
ROUNDS = 4  # each variant's tasks run in this many batches, the variants taking turns (quick: 2)


@dataclass
class Cell:
    name: str
    calls: int
    count: int
    spans: list[tuple[float, float]]
    failed: int
    enqueue_seconds: float
    worker_cpu_seconds: float = float("nan")  # the worker's processes, while it consumed the batch
    round: int = 0

    @property
    def rate(self) -> float:
        """Tasks per second from the first task's start to the last one's finish."""
        first = min(start for start, _ in self.spans)
        last = max(end for _, end in self.spans)
        return len(self.spans) / (last - first)

    @property
    def durations(self) -> list[float]:
        return sorted(end - start for start, end in self.spans)

    def percentile(self, fraction: float) -> float:
        ordered = self.durations
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far, from ``/proc``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending.extend(int(child) for child in children)
    return total


def _read_log(path: Path, offset: int) -> list[list[str]]:
    with path.open() as log:
        log.seek(offset)
        return [line.split() for line in log.read().splitlines() if line.strip()]


@contextlib.contextmanager
def running_worker(node: str, queue: str, log: Path, folder: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``celery worker`` (prefork, 2 children) in its own session, consuming ``queue``, with ``env``
    added to its environment; stopped afterwards."""
    from bench.servers import bench_environment, stop
    from example_site.celery import app

    command = [sys.executable, "-m", "celery", "-A", "example_site.celery:app", "worker", "-P", "prefork", "-c", "2",
               "--without-gossip", "--without-mingle", "-I", "bench.tasks", "-n", node, "-Q", queue,
               "-l", "warning"]  # fmt: skip
    output = folder / "worker.out"
    with output.open("wb") as sink:
        environment = bench_environment(BENCH_TASK_LOG=str(log), **env)
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{output.read_text(errors='replace')[-3000:]}")
        yield process
    finally:
        stop(process)


def _wait_for(log: Path, offset: int, count: int, process: subprocess.Popen[bytes], timeout: float) -> list[list[str]]:
    """The log lines of ``count`` tasks finished after ``offset``; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        lines = _read_log(log, offset)
        if len(lines) >= count:
            return lines
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited during the benchmark")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(lines)} of {count} tasks finished within {timeout:.0f} s")
        time.sleep(0.1)


def _task(name: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(name)


def _cell(
    name: str, calls: int, count: int, user_id: int, node: str, log: Path, process: subprocess.Popen[bytes]
) -> Cell:
    """Publish ``count`` tasks to a fresh queue, then let the worker consume it and wait for all."""
    import redis
    from django.conf import settings

    from example_site.celery import app

    task = _task(name)
    queue = f"bench.tp.{uuid.uuid4().hex[:8]}"
    offset = log.stat().st_size
    started = time.perf_counter()
    for _ in range(count):
        task.apply_async((user_id, calls), queue=queue)
    enqueue_seconds = time.perf_counter() - started
    cpu = _tree_cpu_seconds(process.pid)
    replies = app.control.add_consumer(queue, destination=[node], reply=True, timeout=10)
    if not replies:
        raise RuntimeError("the worker did not answer add_consumer")
    try:
        lines = _wait_for(log, offset, count, process, timeout=max(120.0, count * (calls + 5) * 0.01))
        cpu = _tree_cpu_seconds(process.pid) - cpu
    finally:
        app.control.cancel_consumer(queue, destination=[node], reply=True, timeout=10)
        _forget_queue(redis.Redis.from_url(settings.CELERY_BROKER_URL), queue)
    spans = [(float(start), float(end)) for task_name, start, end, _ in lines if task_name == name]
    failed = sum(state != "SUCCESS" for *_, state in lines)
    return Cell(name, calls, count, spans, failed, enqueue_seconds, cpu)


def _forget_queue(client: Any, queue: str) -> None:
    """Drop what kombu keeps in Redis for a queue of this run (the list and its binding sets)."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _ratios(cells: list[Cell], name: str, calls: int) -> list[float]:
    """Per round: the rate of ``name`` divided by the untracked rate of the same round (the two ran
    one after the other, so a slower or faster stretch of the machine affects both)."""
    bare = {cell.round: cell.rate for cell in _rounds(cells, VARIANTS[0][0], calls)}
    return sorted(cell.rate / bare[cell.round] for cell in _rounds(cells, name, calls))


def _rounds(cells: list[Cell], name: str, calls: int) -> list[Cell]:
    return [cell for cell in cells if cell.calls == calls and cell.name == name]


def _median_rate(cells: list[Cell], name: str, calls: int) -> float:
    return statistics.median(cell.rate for cell in _rounds(cells, name, calls))


def _merged(cells: list[Cell], name: str, calls: int) -> Cell:
    """The rounds of one variant as one cell: its task times, CPU and publish cost over all rounds."""
    mine = _rounds(cells, name, calls)
    return Cell(name, calls, sum(cell.count for cell in mine), [span for cell in mine for span in cell.spans],
                sum(cell.failed for cell in mine), sum(cell.enqueue_seconds for cell in mine),
                sum(cell.worker_cpu_seconds for cell in mine))  # fmt: skip


def _table(cells: list[Cell]) -> str:
    labels = dict(VARIANTS)
    rounds = len({cell.round for cell in cells})
    lines = [
        f"| progress calls per task | workload | tasks/s (median of {rounds} rounds) | task p50 ms | task p99 ms | "
        "tasks/s ÷ bare, median (range) | worker CPU ms/task | caller's publish, ms/task |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for calls in CALLS:
        names = list(dict.fromkeys(cell.name for cell in cells if cell.calls == calls))
        for name in names:
            cell = _merged(cells, name, calls)
            ratios = _ratios(cells, name, calls)
            lines.append(
                f"| {calls} | {labels[name]} | {_median_rate(cells, name, calls):,.0f} | "
                f"{cell.percentile(0.5) * 1000:.2f} | {cell.percentile(0.99) * 1000:.2f} | "
                f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}) | "
                f"{cell.worker_cpu_seconds / cell.count * 1000:.2f} | {cell.enqueue_seconds / cell.count * 1000:.2f} |"
            )
    return "\n".join(lines)


def _per_call(cells: list[Cell], name: str) -> float:
    """Worker time one progress call adds to a task: mean duration at 100 calls minus at 0, over 100."""
    at_100, at_0 = _merged(cells, name, 100), _merged(cells, name, 0)
    return (statistics.fmean(at_100.durations) - statistics.fmean(at_0.durations)) / 100


def _asynchronous_section(cells: list[Cell], ours: str, default_ratio: float) -> list[str]:
    """The second worker's table (full runs only) and what it means."""
    if not cells:
        return ["", "(The quick pass skips the second worker, with `USER_TASKS_SYNCHRONOUS_COMMIT = False`.)"]
    ratio = statistics.median(_ratios(cells, ours, 10))
    return [
        "",
        "With `USER_TASKS_SYNCHRONOUS_COMMIT = False` (a second worker, its own untracked baseline, run right "
        "after): the result's commit does not wait for PostgreSQL's WAL flush.",
        "",
        _table(cells),
        "",
        f"What this means for you: not waiting for the flush, a worker runs {ratio:.2f}x as many tracked tasks as "
        f"untracked ones (with the default, {default_ratio:.2f}x above). A worker crash still loses no status; a "
        f"crash of PostgreSQL itself can lose the last fraction of a second of status writes (see docs/settings.md).",
    ]


def _consume(
    plan: list[tuple[str, int]], count: int, rounds: int, user_id: int, folder: Path, **env: str
) -> list[Cell]:
    """Start a worker (with ``env``), warm it up on every kind of task, then run the cells of
    ``plan`` (task, calls) through it: ``rounds`` times over, ``count`` tasks each time, for each
    number of calls the variants taking turns."""
    import redis

    from example_site.celery import app

    node = f"bench-throughput-{uuid.uuid4().hex[:6]}@{platform.node()}"
    warm_queue = f"bench.tp.warm.{uuid.uuid4().hex[:6]}"
    log = folder / f"tasks-{node.split('@')[0]}.log"
    log.touch()
    try:
        with running_worker(node, warm_queue, log, folder, **env) as process:
            names = list(dict.fromkeys(name for name, _ in plan))
            for name in names:  # every child has run each kind (connections open, code loaded)
                for _ in range(WARMUP_PER_VARIANT):
                    _task(name).apply_async((user_id, 10), queue=warm_queue)
            _wait_for(log, 0, WARMUP_PER_VARIANT * len(names), process, timeout=120)
            cells = []
            for calls in dict.fromkeys(calls for _, calls in plan):
                for round_ in range(rounds):
                    for name in (name for name, planned in plan if planned == calls):
                        cells.append(_cell(name, calls, count, user_id, node, log, process))
                        cells[-1].round = round_
            return cells
    finally:
        _forget_queue(redis.Redis.from_url(app.conf.broker_url), warm_queue)


def run(quick: bool = False) -> str:
    rounds = 2 if quick else ROUNDS
    count = (60 if quick else 2_000) // rounds
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(f"throughput-{uuid.uuid4().hex[:6]}")
    bare, ours, theirs = (name for name, _ in VARIANTS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as folder:
        plan = [(name, calls) for calls in CALLS for name, _ in VARIANTS]
        cells = _consume(plan, count, rounds, user.id, Path(folder))
        asynchronous = [] if quick else _consume([(bare, 10), (ours, 10)], count, rounds, user.id, Path(folder),
                                                 BENCH_SYNCHRONOUS_COMMIT="off")  # fmt: skip
    elapsed = time.monotonic() - started
    failed = sum(cell.failed for cell in cells + asynchronous)
    ours_ratio = statistics.median(_ratios(cells, ours, 10))
    theirs_ratio = statistics.median(_ratios(cells, theirs, 10))
    rate = {(name, calls): _median_rate(cells, name, calls) for name, calls in plan}
    versus = ", ".join(f"{rate[ours, calls] / rate[theirs, calls]:.2f}x at {calls}" for calls in CALLS)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return "\n".join([
        f"### Task throughput: {count * rounds:,} tasks per cell in {rounds} rounds through one prefork worker "
        f"(2 children, Redis broker)",
        "",
        f"{os.cpu_count()} cores (load average {load} at the end), Python {platform.python_version()}; the worker, "
        f"PostgreSQL, Redis and this process share them. Acks late, prefetch multiplier 1, results ignored; "
        f"{elapsed:.0f} s in all.",
        "",
        _table(cells),
        "",
        f"Each variant's tasks ran in {rounds} batches of {count:,}, the variants taking turns, so a slower or "
        f"faster stretch of the shared machine weighs on all of them: tasks/s is the median of a variant's "
        f"batches, the ratio the median of each batch's rate over the untracked batch just before it. "
        f"A batch's tasks/s counts from the first task's start to the last one's finish (task_prerun to task_postrun, "
        f"read from the worker; the status writes of each start and success are inside); task p50/p99 is one "
        f"task's prerun-to-postrun time in a child; worker CPU is the worker's processes' (its parent, both "
        f"children, every thread) while it consumed the batch. \"Caller's publish\" is `apply_async` in this "
        f"process, where "
        f"both libraries create the task's status row; the worker only consumed each batch once all of it was "
        f"queued. Failed tasks: {failed}.",
        "",
        f"What this means for you: with 10 progress calls per task a worker runs {ours_ratio:.2f}x as many of our "
        f"tracked tasks as untracked ones (target: at least 0.5x), and django-user-tasks' base "
        f"{theirs_ratio:.2f}x. Ours against django-user-tasks, tasks/s: {versus} calls per task (target: at "
        f"least 1x). A progress call adds {_per_call(cells, ours) * 1e6:.0f} us to a task with ours and "
        f"{_per_call(cells, theirs) * 1e6:.0f} us with django-user-tasks (mean task time at 100 calls less at 0, "
        f"over 100). Ours sums the calls within `USER_TASKS_PROGRESS_INTERVAL` in memory, so a task shorter than "
        f"the interval writes its progress once, with its result; "
        f"django-user-tasks' `status` property reads the row, then each call runs an UPDATE and a reload. "
        f"What remains of our cost per task is the fixed part: one read of its row at the start (the start is "
        f"written and published only once a task runs longer than `USER_TASKS_START_DELAY`), one write and one "
        f"event at the finish, the heartbeat registration; django-user-tasks writes and reads at both.",
        *_asynchronous_section(asynchronous, ours, ours_ratio),
    ])  # fmt: skip
