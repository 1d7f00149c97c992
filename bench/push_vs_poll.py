"""Push against poll: what the server pays per update a client sees, and how stale clients are.

N clients watch M = 10 running tasks that each advance 10 times a second. Ours: each client holds
one graphql-transport-ws socket with a ``userTaskStatus`` subscription to its task. Baselines in
the same run, same clients, same tasks: polling django-user-tasks' DRF detail endpoint, and
polling celery-progress's ``get_progress`` view, every 500 ms (celery-progress's default). One
fresh uvicorn process per cell; the clients run in processes of their own (raw asyncio HTTP/1.1
with keep-alive for polls, the ``websockets`` client for push); the producers run in this process
through each system's own progress call.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import json
import multiprocessing
import os
import platform
import random
import resource
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

TASKS = 10
RATE = 10.0  # progress calls per second per task
POLL_INTERVAL = 0.5  # celery-progress's pollInterval default
PROCESSES = 4
WARMUP = 2.0  # seconds of updates before the measured window
TAIL = 2.0  # seconds of updates after it, so updates near its end are seen under the same load
REQUEST_TIMEOUT = 10.0
READY_TIMEOUT = 300.0
CONNECT_WAVE = 50  # handshakes in flight per client process
FLOOR_REQUESTS = 200
SERVER_APPLICATION_NAME = "bench-push-vs-poll-server"
QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { completedSteps totalSteps state } }"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


# ---- clients (in processes of their own) -------------------------------------------------------


class CountingConnection(ClientConnection):
    """A websocket client connection that counts the bytes it reads from and writes to its socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_in = 0
        self.bytes_out = 0

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        super().data_received(data)

    def send_data(self) -> None:
        self.bytes_out += sum(len(chunk) for chunk in self.protocol.writes)
        super().send_data()


@dataclass
class ClientState:
    """What one client saw: every state with its arrival time, and counters read at the window's edges."""

    task: int
    seen: list[tuple[float, int]] = field(default_factory=list)
    round_trips: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds), polls only
    bytes_in: int = 0
    bytes_out: int = 0
    late: int = 0
    skipped: int = 0
    errors: int = 0
    setup_bytes: int = 0
    connection: CountingConnection | None = None
    marks: list[tuple[int, ...]] = field(default_factory=list)

    def counters(self) -> tuple[int, ...]:
        if self.connection is not None:
            self.bytes_in, self.bytes_out = self.connection.bytes_in, self.connection.bytes_out
        return (self.bytes_out, self.bytes_in, self.late, self.skipped, self.errors)

    def result(self) -> dict[str, Any]:
        start, stop = (self.marks + [self.counters()] * 2)[:2]
        window = [b - a for a, b in zip(start, stop, strict=True)]
        return {"task": self.task, "seen": self.seen, "round_trips": self.round_trips, "setup_bytes": self.setup_bytes,
                **dict(zip(("bytes_out", "bytes_in", "late", "skipped", "errors"), window, strict=True))}  # fmt: skip


async def _push_client(url: str, headers: dict[str, str], status_uuid: str, state: ClientState,
                       gate: asyncio.Semaphore) -> None:  # fmt: skip
    """A browser tab's subscription: snapshot first, then each new state, until the bench closes it."""
    try:
        async with gate:
            ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                          additional_headers=headers, user_agent_header=USER_AGENT,
                                          create_connection=CountingConnection, open_timeout=READY_TIMEOUT)  # fmt: skip
            assert isinstance(ws, CountingConnection)
            state.connection = ws
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            payload = {"query": QUERY, "variables": {"u": status_uuid}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "next" and "errors" not in message["payload"]:
                state.seen.append((time.time(), message["payload"]["data"]["userTaskStatus"]["completedSteps"]))
                if not state.setup_bytes:
                    state.setup_bytes = ws.bytes_in + ws.bytes_out
            elif message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message["type"] != "pong":
                state.errors += 1
                return
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
        state.errors += 1


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, int, bool]:
    """One HTTP/1.1 response: (status, body, bytes read, server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    size = len(head)
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
        size += len(body)
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            length = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(length + 2)
            size += len(size_line) + len(chunk)
            if not length:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        raise ValueError("a response without a length")
    return status, body, size, fields.get("connection", "").lower() == "close"


def _parse(kind: str, body: bytes) -> int:
    data = json.loads(body)
    return int(data["completed_steps"] if kind == "drf" else data["progress"]["current"])


async def _poll_client(kind: str, port: int, request: bytes, state: ClientState, finishing: asyncio.Event) -> None:
    """Poll every POLL_INTERVAL on a fixed schedule, one request in flight on one keep-alive connection.

    When a response arrives after the next poll was due, that poll is sent at once and counted
    late; polls whose whole slot passed meanwhile are counted skipped (as setInterval would drop
    them). A failed or timed-out request is counted, and the connection opened again.
    """
    loop = asyncio.get_running_loop()
    tick = loop.time() + random.uniform(0, POLL_INTERVAL)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while not finishing.is_set():
        now = loop.time()
        if now < tick:
            await asyncio.sleep(tick - now)
        elif state.seen:
            state.late += 1
            missed = int((now - tick) // POLL_INTERVAL)
            state.skipped += missed
            tick += missed * POLL_INTERVAL
        tick += POLL_INTERVAL
        if finishing.is_set():
            break
        sent = time.time()
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), REQUEST_TIMEOUT)
            reader, writer = connection
            writer.write(request)
            state.bytes_out += len(request)
            status, body, size, close = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
            state.bytes_in += size
            if status != 200:
                raise ValueError(f"HTTP {status}")
            arrived = time.time()
            state.seen.append((arrived, _parse(kind, body)))
            state.round_trips.append((sent, arrived - sent))
            if close:
                writer.close()
                connection = None
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, KeyError):
            state.errors += 1
            if connection is not None:
                connection[1].close()
                connection = None


def _request(path: str, port: int, cookie: str) -> bytes:
    """The GET a browser's fetch() sends: its usual headers, the session and CSRF cookies."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\nUser-Agent: {USER_AGENT}\r\n"
        f"Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
        f"Referer: http://127.0.0.1:{port}/\r\nCookie: csrftoken={secrets.token_hex(16)}; sessionid={cookie}\r\n\r\n"
    ).encode()


def client_process(kind: str, port: int, cookie: str, targets: list[tuple[int, str]], results: Any, start: Any,
                   stop: Any, finish: Any) -> None:  # fmt: skip
    """Clients of one process: ready once each saw its task's state; counters read at start and stop."""

    async def main() -> None:
        states = [ClientState(task) for task, _ in targets]
        finishing = asyncio.Event()
        if kind == "ws":
            gate = asyncio.Semaphore(CONNECT_WAVE)
            from bench.servers import websocket_target

            url, headers = websocket_target(port, cookie)
            clients = [asyncio.create_task(_push_client(url, headers, target, state, gate))
                       for (_, target), state in zip(targets, states, strict=True)]  # fmt: skip
        else:
            clients = [asyncio.create_task(_poll_client(kind, port, _request(target, port, cookie), state, finishing))
                       for (_, target), state in zip(targets, states, strict=True)]  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(state.seen or state.errors for state in states) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for state in states:
            if kind != "ws":
                state.setup_bytes = state.bytes_in + state.bytes_out
        results.put(("ready", os.getpid(), sum(bool(state.seen) for state in states)))
        for event in (start, stop):
            await asyncio.to_thread(event.wait, READY_TIMEOUT)
            for state in states:
                state.marks.append(state.counters())
        await asyncio.to_thread(finish.wait, READY_TIMEOUT)
        finishing.set()
        open_sockets = [state.connection.close() for state in states if state.connection is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*open_sockets, return_exceptions=True), 30)
        _, pending = await asyncio.wait(clients, timeout=REQUEST_TIMEOUT + 5)
        for client in pending:
            client.cancel()
        results.put(("done", os.getpid(), [state.result() for state in states]))

    asyncio.run(main())


# ---- producers (in this process) ---------------------------------------------------------------


class Producer:
    """M running tasks of one system; ``advance(i)`` is that system's progress call for task i."""

    kind = ""
    label = ""

    def __init__(self) -> None:
        self.counts = [0] * TASKS
        self.targets: list[str] = []

    def advance(self, index: int) -> int:
        raise NotImplementedError

    def writes(self) -> int | None:
        """Status writes so far (what push must deliver), where the system counts them."""
        return None

    def settle(self) -> None:
        """Let the last progress reach the clients before they close (a send racing a close logs an error)."""

    def close(self) -> None:
        pass


class Ours(Producer):
    kind = "ws"
    label = "ours: websocket push, `userTaskStatus` subscription"

    def __init__(self, user: Any) -> None:
        super().__init__()
        from user_tasks_graphql.models import UserTaskStatus

        self.statuses = [
            UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="bench.push_vs_poll",
                                          name=f"watched {i}", total_steps=10**6, state=UserTaskStatus.IN_PROGRESS)
            for i in range(TASKS)
        ]  # fmt: skip
        self.targets = [str(status.uuid) for status in self.statuses]

    def advance(self, index: int) -> int:
        self.statuses[index].increment_completed_steps()
        self.counts[index] += 1
        return self.counts[index]

    def writes(self) -> int:
        from django.db.models import Sum

        from user_tasks_graphql.models import UserTaskStatus

        total = UserTaskStatus.objects.filter(pk__in=[s.pk for s in self.statuses]).aggregate(Sum("seq"))
        return int(total["seq__sum"])

    def settle(self) -> None:
        for status in self.statuses:
            status.flush_progress()
        time.sleep(0.5)


class DjangoUserTasks(Producer):
    kind = "drf"
    label = "django-user-tasks DRF detail, polled every 500 ms"

    def __init__(self, user: Any) -> None:
        super().__init__()
        from user_tasks.models import UserTaskStatus as AnchorStatus

        self.statuses = [
            AnchorStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="bench.push_vs_poll",
                                        name=f"watched {i}", total_steps=32000, state=AnchorStatus.IN_PROGRESS)
            for i in range(TASKS)
        ]  # fmt: skip
        self.targets = [f"/drf/tasks/{status.uuid}/" for status in self.statuses]

    def advance(self, index: int) -> int:
        self.statuses[index].increment_completed_steps()
        self.counts[index] += 1
        return self.counts[index]


class CeleryProgress(Producer):
    """celery-progress's ``ProgressRecorder`` on a Celery task, as inside a worker's task body.

    The task's request (its id) is pushed around each call, which is what Celery does for the body
    it runs; ``set_progress`` then stores the PROGRESS state in the Redis result backend.
    """

    kind = "celery_progress"
    label = "celery-progress `get_progress`, polled every 500 ms"
    total = 10**6

    def __init__(self, user: Any) -> None:
        super().__init__()
        from celery_progress.backend import ProgressRecorder

        from bench.tasks import celery_progress_loop

        self.task: Any = celery_progress_loop
        self.task_ids = [str(uuid.uuid4()) for _ in range(TASKS)]
        self.recorders = [ProgressRecorder(self.task) for _ in range(TASKS)]
        self.targets = [f"/celery-progress/{task_id}/" for task_id in self.task_ids]
        for index in range(TASKS):
            self._record(index, 0)

    def _record(self, index: int, current: int) -> None:
        self.task.push_request(id=self.task_ids[index])
        try:
            self.recorders[index].set_progress(current, self.total)
        finally:
            self.task.pop_request()

    def advance(self, index: int) -> int:
        self.counts[index] += 1
        self._record(index, self.counts[index])
        return self.counts[index]

    def close(self) -> None:
        from celery.result import AsyncResult

        for task_id in self.task_ids:
            AsyncResult(task_id).forget()


SYSTEMS: list[Callable[[Any], Producer]] = [Ours, DjangoUserTasks, CeleryProgress]


# ---- one cell: a system at N clients -----------------------------------------------------------


def run_queue_wait(pid: int) -> float:
    """Seconds the process's threads have spent runnable but waiting for a CPU (/proc schedstat)."""
    waited = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{thread}/schedstat") as stat:
            waited += int(stat.read().split()[1])
    return waited / 1e9


@dataclass
class Usage:
    """CPU seconds so far of the server, its PostgreSQL backends, Redis (whole server) and the clients."""

    at: float
    server: float
    server_wait: float
    postgres: dict[int, float]
    redis: float
    clients: float
    writes: int | None

    @staticmethod
    def read(server_pid: int, client_pids: list[int], producer: Producer) -> Usage:
        import redis
        from django.db import connection

        from bench.harness import redis_url
        from bench.servers import cpu_seconds

        at = time.time()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [SERVER_APPLICATION_NAME])
            backends = [row[0] for row in cursor.fetchall()]
        postgres = {}
        for pid in backends:
            with contextlib.suppress(OSError):  # the backend just ended, or PostgreSQL runs elsewhere
                postgres[pid] = cpu_seconds(pid)
        info = redis.Redis.from_url(redis_url()).info("cpu")
        clients = sum(cpu_seconds(pid) for pid in client_pids)
        redis_cpu = float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
        return Usage(at, cpu_seconds(server_pid), run_queue_wait(server_pid), postgres, redis_cpu, clients,
                     producer.writes())  # fmt: skip


@dataclass
class Cell:
    label: str
    kind: str
    clients: int
    connected: int
    states: list[dict[str, Any]]
    updates: list[list[tuple[float, int]]]
    start: Usage
    stop: Usage
    floor: float | None

    @property
    def seconds(self) -> float:
        return self.stop.at - self.start.at

    @property
    def server_cpu(self) -> float:
        return self.stop.server - self.start.server

    @property
    def starved(self) -> float:
        """Share of the window the server was runnable but had no CPU: the machine, not the server, limited it."""
        return (self.stop.server_wait - self.start.server_wait) / self.seconds

    @property
    def postgres_cpu(self) -> float:
        return sum(cpu - self.start.postgres.get(pid, 0.0) for pid, cpu in self.stop.postgres.items())

    def in_window(self, at: float) -> bool:
        return self.start.at <= at < self.stop.at

    def received(self) -> tuple[int, int]:
        """States that arrived in the window, and those of them newer than what the client had."""
        arrived = fresh = 0
        for state in self.states:
            last = -1
            for at, value in state["seen"]:
                if self.in_window(at):
                    arrived += 1
                    fresh += value > last
                last = max(last, value)
        return arrived, fresh

    def expected(self) -> int:
        """Push: every status write of the client's task in the window; poll: one response per slot."""
        if self.kind != "ws":
            return round(self.clients * self.seconds / POLL_INTERVAL)
        assert self.start.writes is not None
        assert self.stop.writes is not None
        return round((self.stop.writes - self.start.writes) * self.clients / TASKS)

    @functools.cached_property
    def staleness(self) -> tuple[list[float], int]:
        """For each progress call in the window and each client of its task: the wait until the client
        saw that count or a later one. Also how many were never seen before the clients stopped."""
        waits: list[float] = []
        unseen = 0
        for state in self.states:
            times = [at for at, _ in state["seen"]]
            highest, running = [], -1
            for _, value in state["seen"]:
                running = max(running, value)
                highest.append(running)
            for made, value in self.updates[state["task"]]:
                if not self.in_window(made):
                    continue
                index = bisect.bisect_left(highest, value)
                if index == len(highest):
                    unseen += 1
                else:
                    waits.append(times[index] - made)
        return waits, unseen

    def achieved_rate(self) -> float:
        made = sum(self.in_window(at) for updates in self.updates for at, _ in updates)
        return made / TASKS / self.seconds

    def total(self, key: str) -> int:
        return sum(int(state[key]) for state in self.states)

    def round_trips(self) -> list[float]:
        return [rtt for state in self.states for sent, rtt in state["round_trips"] if self.in_window(sent)]


def _drive(producer: Producer, window: float, start: Any, stop: Any, server_pid: int,
           client_pids: list[int]) -> tuple[list[list[tuple[float, int]]], Usage, Usage]:  # fmt: skip
    """Advance every task RATE times a second for WARMUP + window + TAIL; mark the window's edges."""
    updates: list[list[tuple[float, int]]] = [[] for _ in range(TASKS)]
    began: Usage | None = None
    ended: Usage | None = None
    base = time.monotonic()
    for step in range(int((WARMUP + window + TAIL) * RATE)):
        for index in range(TASKS):
            due = base + (step + index / TASKS) / RATE
            time.sleep(max(0.0, due - time.monotonic()))
            elapsed = time.monotonic() - base
            if began is None and elapsed >= WARMUP:
                began = Usage.read(server_pid, client_pids, producer)
                start.set()
            if began is not None and ended is None and elapsed >= WARMUP + window:
                ended = Usage.read(server_pid, client_pids, producer)
                stop.set()
            made = time.time()
            updates[index].append((made, producer.advance(index)))
    assert began is not None
    assert ended is not None
    return updates, began, ended


def _cell(make: Callable[[Any], Producer], clients: int, window: float, user: Any, cookie: str) -> Cell:
    from bench.servers import database_url, running_server

    producer = make(user)
    server_env = {"DATABASE_URL": f"{database_url()}?application_name={SERVER_APPLICATION_NAME}"}
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start, stop, finish = context.Event(), context.Event(), context.Event()
    workers: list[Any] = []
    try:
        with running_server(**server_env) as (port, server):
            for share in range(PROCESSES):
                targets = [(i % TASKS, producer.targets[i % TASKS]) for i in range(share, clients, PROCESSES)]
                arguments = (producer.kind, port, cookie, targets, results, start, stop, finish)
                worker = context.Process(target=client_process, args=arguments, daemon=True)
                worker.start()
                workers.append(worker)
            connected = 0
            for _ in workers:
                tag, _pid, count = results.get(timeout=READY_TIMEOUT + 30)
                assert tag == "ready"
                connected += count
            updates, began, ended = _drive(producer, window, start, stop, server.pid, [w.pid for w in workers])
            producer.settle()
            finish.set()
            states: list[dict[str, Any]] = []
            for _ in workers:
                tag, _pid, part = results.get(timeout=120)
                assert tag == "done"
                states += part
            for worker in workers:
                worker.join(30)
        floor = _in_process_cost(producer, cookie)
    finally:
        start.set()
        stop.set()
        finish.set()
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(5)
        producer.close()
    return Cell(producer.label, producer.kind, clients, connected, states, updates, began, ended, floor)


def _in_process_cost(producer: Producer, cookie: str) -> float | None:
    """CPU seconds of one poll served in this thread by Django's test client: no ASGI, no sockets.

    A floor for what the same view costs under a WSGI server, where Django does not run each sync
    middleware and the view through asgiref's thread hand-offs as it does under uvicorn.
    """
    if producer.kind == "ws":
        return None
    from django.test import Client

    client = Client(HTTP_ACCEPT="application/json")
    client.cookies["sessionid"] = cookie
    for _ in range(20):
        client.get(producer.targets[0])
    started = time.thread_time()
    for _ in range(FLOOR_REQUESTS):
        response = client.get(producer.targets[0])
    spent = time.thread_time() - started
    assert response.status_code == 200, response.content[:300]
    return spent / FLOOR_REQUESTS


# ---- report ------------------------------------------------------------------------------------


def _percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _per_update(cell: Cell) -> float:
    return cell.server_cpu / max(cell.received()[1], 1)


def _tables(cells: list[Cell]) -> str:
    main = [
        "| clients | system | server CPU per delivered update, ms | ÷ ours | server CPU, % of one core | "
        "staleness p50 ms | staleness p99 ms | new states per client per s | bytes per client per s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    side = [
        "| clients | system | progress calls per task per s (achieved) | delivered / expected | clients ready | "
        "progress calls never seen | late / skipped "
        "polls | failed requests or sockets | poll round trip p50 / p99 ms | PostgreSQL CPU s (server's "
        "connections) | Redis CPU s (whole server) | client processes CPU s | server waiting for a CPU, % of the "
        "window | one poll in-process (no ASGI), CPU ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in sorted({cell.clients for cell in cells}):
        row = [cell for cell in cells if cell.clients == clients]
        ours = _per_update(row[0])
        for cell in row:
            waits, unseen = cell.staleness
            arrived, fresh = cell.received()
            wire = (cell.total("bytes_in") + cell.total("bytes_out")) / cell.clients / cell.seconds
            main.append(
                f"| {clients:,} | {cell.label} | {_per_update(cell) * 1000:.3f} | {_per_update(cell) / ours:.1f}x | "
                f"{cell.server_cpu / cell.seconds * 100:.0f}% | {_percentile(waits, 0.5) * 1000:.0f} | "
                f"{_percentile(waits, 0.99) * 1000:.0f} | {fresh / cell.clients / cell.seconds:.2f} | {wire:,.0f} |"
            )
            trips = cell.round_trips()
            polls = "-" if cell.kind == "ws" else f"{cell.total('late'):,} / {cell.total('skipped'):,}"
            rtt = (
                "-"
                if cell.kind == "ws"
                else f"{_percentile(trips, 0.5) * 1000:.0f} / {_percentile(trips, 0.99) * 1000:.0f}"
            )
            side.append(
                f"| {clients:,} | {cell.label} | {cell.achieved_rate():.1f} | {arrived:,} / {cell.expected():,} | "
                f"{cell.connected:,} / "
                f"{cell.clients:,} | {unseen:,} of {len(waits) + unseen:,} | {polls} | {cell.total('errors'):,} | "
                f"{rtt} | {cell.postgres_cpu:.2f} | {cell.stop.redis - cell.start.redis:.2f} | "
                f"{cell.stop.clients - cell.start.clients:.2f} | {cell.starved * 100:.0f}% | "
                f"{'-' if cell.floor is None else f'{cell.floor * 1000:.2f}'} |"
            )
    return "\n".join(main) + "\n\n" + "\n".join(side)


def _short(cell: Cell) -> str:
    return cell.label.split(",")[0]


def _conclusion(cells: list[Cell]) -> str:
    clients = max(cell.clients for cell in cells)
    row = [cell for cell in cells if cell.clients == clients]
    ours, *polled = row
    ratios = [_per_update(cell) / _per_update(ours) for cell in polled]
    cpu = ", ".join(f"{ratio:.1f}x ({_short(cell)})" for ratio, cell in zip(ratios, polled, strict=True))
    stale = {cell.label: _percentile(cell.staleness[0], 0.5) for cell in row}
    lost = {cell.label: cell.staleness[1] / max(1, len(cell.staleness[0]) + cell.staleness[1]) for cell in row}
    fresher = all(stale[ours.label] < stale[cell.label] for cell in polled)
    arrived, _ = ours.received()
    floors = ", ".join(
        f"{(cell.floor or 0.0) / _per_update(ours):.1f}x ({_short(cell)}: {(cell.floor or 0.0) * 1000:.2f} ms)"
        for cell in polled
    )
    setup = statistics.fmean(state["setup_bytes"] for state in ours.states) if ours.states else 0.0
    interval = _progress_interval()
    return (
        f"What this means for you: at {clients:,} clients each update a client sees costs the server process "
        f"{cpu} as much CPU when polled as when pushed (target: at least 10x; "
        f"{'met' if min(ratios) >= 10 else 'missed'}). Staleness p50: pushed {stale[ours.label] * 1000:,.0f} ms, "
        + ", ".join(f"{_short(cell)} {stale[cell.label] * 1000:,.0f} ms" for cell in polled)
        + f" (target: lower when pushed; {'met' if fresher else 'missed'}); progress calls never seen before the "
        f"clients closed: "
        + ", ".join(f"{_short(cell)} {lost[cell.label] * 100:.0f}%" for cell in row)
        + f". Push delivered {arrived / max(1, ours.expected()) * 100:.0f}% of the states written in the window "
        f"(coalesced to one write per {interval:g} s per task: up to {1 / interval:g} per client per second); a "
        f"poller gets at most two a second. The server waited for a CPU {ours.starved * 100:.0f}% of the window "
        f"when pushing and up to {max(cell.starved for cell in polled) * 100:.0f}% when polled: above a few percent "
        f"the machine, not the server, set the pace. Part of what a poll costs here is Django's ASGI path: under "
        f"uvicorn each sync middleware and the view run through asgiref's thread hand-offs, in a new thread per "
        f"request. The same request served in this process by Django's test client, a floor for a WSGI server, "
        f"costs {floors} ours per delivered update. Bytes are counted at the TCP payload: for push the websocket "
        f"frames after the handshake, as compressed by permessage-deflate (negotiated as browsers do), both "
        f"directions, pings included; for polls each request with the headers and cookies a browser's fetch() "
        f"sends and each response's headers and body. TCP/IP headers (some 52 bytes per segment) are not counted: "
        f"a poll is at least two segments and their ACKs, a pushed state one. Opening a push client (handshake, "
        f"connection_init, the snapshot) took {setup:,.0f} bytes once."
    )


def _progress_interval() -> float:
    from django.conf import settings

    return float(getattr(settings, "USER_TASKS_PROGRESS_INTERVAL", 0.2))


def run(quick: bool = False) -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bench.servers import session_cookie
    from user_tasks_graphql.core import progress
    from user_tasks_graphql.worker.flusher import flusher

    window = 3.0 if quick else 15.0
    sizes = [100] if quick else [100, 1_000]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * max(sizes) + 1024)), hard))
    username = f"watcher-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    user = get_user_model().objects.get(username=username)
    began = time.monotonic()
    cells: list[Cell] = []
    progress.install_background_writer(flusher.watch)  # as in a Celery worker: steps left waiting are written on time
    try:
        for clients in sizes:
            for make in SYSTEMS:
                cells.append(_cell(make, clients, window, user, cookie))
    finally:
        progress.install_background_writer(None)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return "\n".join([
        f"### Push vs poll: {TASKS} tasks at {RATE:g} progress calls/s each, N clients spread over them",
        "",
        f"{os.cpu_count()} cores (load average {load} at the end), Python {platform.python_version()}; one uvicorn "
        f"process per row (a fresh one), channels-redis {layer}, {PROCESSES} client processes; the clients, "
        f"PostgreSQL, Redis and the producer share the cores with the server. Window {window:g} s after "
        f"{WARMUP:g} s of warm-up; {time.monotonic() - began:.0f} s in all.",
        "",
        _tables(cells),
        "",
        "Server CPU is the uvicorn process's user+system time over the window (/proc), divided by the states "
        "clients received in it that were newer than what they had (for polls nearly every response, since "
        "the tasks move 10 times between two polls). Staleness: for each progress call in the window and each "
        "client of its task, the time from the call to the client holding that count or a later one (it "
        "includes our coalescing wait, and for polls the wait for the next poll). Delivered / expected: push "
        "against the status writes of each client's task in the window; polls against one response per 500 ms "
        "slot. Redis CPU is the whole server's, which other projects on this machine may share.",
        "",
        _conclusion(cells),
    ])  # fmt: skip
