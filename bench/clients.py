"""Processes the realtime benchmarks start (fanout, slow_consumer, churn), and what they read from
Redis and ``/proc``.

Load generators run in ``spawn`` processes of their own so that one Python loop reading hundreds of
sockets is not what gets measured. The publisher runs in a process of its own too: the bench
settings build ``CHANNEL_LAYERS`` from the environment at import and the library keeps one layer
per process, so publishing through the pub/sub layer needs a process started with
``CHANNEL_LAYER=pubsub``.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import queue
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import redis
import redis.asyncio as aioredis
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from bench.harness import Timing, redis_url

QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { completedSteps state modified } }"
CONTEXT = multiprocessing.get_context("spawn")
CONNECT_WAVE = 50  # sockets opened at once per process, as users arrive rather than all in one instant


def raise_open_files(sockets: int) -> None:
    """Room for ``sockets`` connections (client and server ends, plus Redis) in this process and its children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * sockets + 256)), hard))


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal non-zero counts."""
    parts = max(1, min(parts, total))
    return [total // parts + (i < total % parts) for i in range(parts)]


def timing(name: str, samples: list[float]) -> Timing:
    """A ``Timing`` that reports NaN rather than failing when nothing was received."""
    return Timing(name, samples or [float("nan")])


# ---- what a subscriber saw -----------------------------------------------------------------------


@dataclass
class Stream:
    """The events one subscriber received after its snapshot, as arrays (they cross processes)."""

    received: array.array[float] = field(default_factory=lambda: array.array("d"))  # time.time() at receipt
    sent: array.array[float] = field(default_factory=lambda: array.array("d"))  # the event's `modified`
    steps: array.array[int] = field(default_factory=lambda: array.array("q"))  # its completedSteps
    finished: bool = False  # received a finished state (the subscription then completes)
    problem: str = ""  # set if the subscription ended any other way

    def latencies(self, since: float, until: float) -> list[float]:
        """Publish-to-receipt seconds of the events published in [since, until]."""
        return [r - s for r, s in zip(self.received, self.sent, strict=True) if since <= s <= until]

    def count_received(self, since: float, until: float) -> int:
        return sum(1 for r in self.received if since <= r <= until)


# ---- graphql-transport-ws subscribers ------------------------------------------------------------


async def subscribe(url: str, headers: dict[str, str], status_uuid: str) -> ClientConnection:
    """A socket past ``connection_ack`` with a ``userTaskStatus`` subscription sent.

    No client keepalive pings: a paused reader would otherwise close its own socket when the pong
    waits behind unread data (browsers answer pings but do not send them).
    """
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], additional_headers=headers,
                                  open_timeout=60, ping_interval=None, close_timeout=2)  # fmt: skip
    await ws.send(json.dumps({"type": "connection_init"}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    payload = {"query": QUERY, "variables": {"u": status_uuid}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def listen(ws: ClientConnection, stream: Stream, on_snapshot: Callable[[], None],
                 pause: Any = None) -> None:  # fmt: skip
    """Record every event after the snapshot until the subscription completes.

    ``pause`` (a shared array ``[start, end]`` of wall times) makes this client stop calling
    ``recv()`` in that window: websockets then stops reading the socket once 16 frames wait, and
    the rest stays in the kernel's buffers and the server's.
    """
    snapshot = True
    try:
        while True:
            if pause is not None and pause[0] <= time.time() < pause[1]:
                await asyncio.sleep(pause[1] - time.time())
            raw = await ws.recv()
            now = time.time()
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif kind == "complete":
                return
            elif kind != "next" or not (message["payload"].get("data") or {}).get("userTaskStatus"):
                stream.problem = f"unexpected message: {raw[:200]!r}"
                return
            elif snapshot:
                snapshot = False
                on_snapshot()
            else:
                node = message["payload"]["data"]["userTaskStatus"]
                stream.received.append(now)
                stream.sent.append(datetime.fromisoformat(node["modified"]).timestamp())
                stream.steps.append(node["completedSteps"])
                stream.finished = node["state"] == "SUCCEEDED"
    except websockets.ConnectionClosed as exc:
        stream.problem = f"socket closed, code {exc.rcvd.code if exc.rcvd else 'none (no close frame)'}"
    finally:
        if snapshot:
            on_snapshot()  # counted as settled either way, so the caller's wait ends


def subscribers_main(url: str, headers: dict[str, str], status_uuid: str, count: int, replies: Any, done: Any,
                     pause: Any = None) -> None:  # fmt: skip
    """``count`` subscribers in this process: puts ("ready", n) once all snapshots arrived, then
    ("streams", [Stream]) once every subscription completed or ``done`` was set."""

    async def main() -> None:
        streams = [Stream() for _ in range(count)]
        settled = 0

        def on_snapshot() -> None:
            nonlocal settled
            settled += 1

        sockets: list[ClientConnection] = []
        listening: list[tuple[Stream, asyncio.Task[None]]] = []
        for start in range(0, count, CONNECT_WAVE):
            wave = range(start, min(count, start + CONNECT_WAVE))
            opened = await asyncio.gather(*(subscribe(url, headers, status_uuid) for _ in wave), return_exceptions=True)
            for index, ws in zip(wave, opened, strict=True):
                if isinstance(ws, BaseException):  # reported with the streams; the others go on
                    streams[index].problem = f"could not subscribe: {ws!r}"[:300]
                    settled += 1
                else:
                    sockets.append(ws)
                    listening.append(
                        (streams[index], asyncio.create_task(listen(ws, streams[index], on_snapshot, pause)))
                    )
        tasks = [task for _, task in listening]
        deadline = time.monotonic() + 120
        while settled < count and time.monotonic() < deadline and not done.is_set():
            await asyncio.sleep(0.02)
        replies.put(("ready", settled))
        while not all(task.done() for task in tasks) and not done.is_set():
            await asyncio.sleep(0.05)
        for stream, task in listening:
            if not task.done():
                stream.problem = stream.problem or "still open when the run ended"
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        replies.put(("streams", streams))
        await asyncio.gather(*(asyncio.wait_for(ws.close(), 5) for ws in sockets), return_exceptions=True)

    asyncio.run(main())


# ---- raw Redis subscribers (the baseline) --------------------------------------------------------


def redis_subscribers_main(url: str, channel: str, count: int, slot: int, acked: Any, replies: Any,
                           done: Any) -> None:  # fmt: skip
    """``count`` redis-py subscribers of ``channel``; messages are ``b"<seq> <time>"``, seq -1 ends.

    ``acked[slot]`` holds the lowest seq all of them have read, so the publisher can keep a bounded
    number of messages in flight instead of filling Redis's output buffers.
    """

    async def main() -> None:
        client = aioredis.Redis.from_url(url, max_connections=count + 8)
        streams = [Stream() for _ in range(count)]
        last = [0] * count
        pubsubs = []
        for _ in range(count):
            pubsub = client.pubsub()
            await pubsub.subscribe(channel)
            for _ in range(10):  # wait for the subscribe confirmation
                if await pubsub.get_message(timeout=5) is not None:
                    break
            pubsubs.append(pubsub)

        async def read(index: int, pubsub: Any) -> None:
            stream = streams[index]
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                now = time.time()
                seq, sent = message["data"].split(b" ")
                if seq == b"-1":
                    return
                stream.received.append(now)
                stream.sent.append(float(sent))
                stream.steps.append(int(seq))
                last[index] = int(seq)

        async def report() -> None:
            while True:
                acked[slot] = min(last)
                await asyncio.sleep(0.002)

        readers = [asyncio.create_task(read(i, p)) for i, p in enumerate(pubsubs)]
        reporter = asyncio.create_task(report())
        replies.put(("ready", count))
        while not all(task.done() for task in readers) and not done.is_set():
            await asyncio.sleep(0.05)
        for task in [*readers, reporter]:
            task.cancel()
        await asyncio.gather(*readers, reporter, return_exceptions=True)
        for stream, task in zip(streams, readers, strict=True):
            stream.finished = task.done() and not task.cancelled() and task.exception() is None
        replies.put(("streams", streams))
        for pubsub in pubsubs:
            await pubsub.aclose()
        await client.aclose()

    asyncio.run(main())


async def redis_publisher(channel: str, seconds: float, window: int, acked: Any) -> tuple[int, float, float]:
    """Publish as fast as one connection can for ``seconds``, with at most ``window`` messages
    beyond what the slowest subscriber has read; returns (messages, start, end) wall times."""
    client = aioredis.Redis.from_url(redis_url())
    seq, floor = 0, 0
    started = time.time()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if seq - floor >= window:
                floor = min(acked[:])
                if seq - floor >= window:
                    await asyncio.sleep(0.0005)
                    continue
            seq += 1
            await client.publish(channel, f"{seq} {time.time()!r}")
        ended = time.time()
        await client.publish(channel, "-1 0")
    finally:
        await client.aclose()
    return seq, started, ended


# ---- connection churn ----------------------------------------------------------------------------


def churn_main(url: str, headers: dict[str, str], status_uuid: str, rate: float, seconds: float, begin_at: float,
               replies: Any) -> None:  # fmt: skip
    """Open-loop from wall time ``begin_at``: every 1/rate s a new socket connects, subscribes, reads
    its snapshot and live updates for 0-0.9 s, then leaves: every other one closes cleanly, the rest
    drop the TCP connection without a close frame (a killed tab, a lost network)."""

    async def main() -> None:
        setup: list[float] = []
        errors: dict[str, int] = {}
        updates, skipped, peak = 0, 0, 0
        running: set[asyncio.Task[None]] = set()

        async def cycle(index: int) -> None:
            nonlocal updates
            started = time.monotonic()
            try:
                ws = await subscribe(url, headers, status_uuid)
                try:
                    first = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if first["type"] != "next":
                        raise RuntimeError(first["type"])
                    setup.append(time.monotonic() - started)
                    hold_until = time.monotonic() + (index % 10) / 10
                    while (left := hold_until - time.monotonic()) > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(ws.recv(), left)
                            updates += 1
                finally:
                    if index % 2:
                        ws.transport.abort()
                    else:
                        await asyncio.wait_for(ws.close(), 5)
            except Exception as exc:
                cause = exc.__cause__ or exc.__context__
                name = type(exc).__name__ + (f" ({type(cause).__name__})" if cause else "")
                errors[name] = errors.get(name, 0) + 1

        await asyncio.sleep(max(0.0, begin_at - time.time()))
        start = time.monotonic()
        for index in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            if len(running) >= 500:  # bounded: a server that stops answering must not pile up sockets here
                skipped += 1
                continue
            task = asyncio.create_task(cycle(index))
            running.add(task)
            task.add_done_callback(running.discard)
            peak = max(peak, len(running))
        if running:
            await asyncio.wait(running, timeout=60)
        replies.put({"setup": setup, "errors": errors, "updates": updates, "skipped": skipped, "peak": peak,
                     "unfinished": len(running), "seconds": time.monotonic() - start})  # fmt: skip

    asyncio.run(main())


# ---- the publisher process -----------------------------------------------------------------------


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1


def _stream(pk: int, rate: float, seconds: float, first_seq: int, failures: _Count, halt: Any) -> dict[str, Any]:
    """Full-state events of one status with growing ``seq`` (= ``completed_steps``), each stamped with
    its publish time in ``modified``; ``rate`` 0 publishes back to back, else on a fixed schedule.
    Each call waits until its event is sent (a task's publish does not), so that every event reaches
    the server and the rate is the layer's, not the publisher's queue's. Stops after ``seconds`` or
    once ``halt`` is set."""
    from user_tasks_graphql.core.events import load_events
    from user_tasks_graphql.live.publisher import publish_events, publisher
    from user_tasks_graphql.models import UserTaskStatus

    base = load_events(UserTaskStatus, [pk])[0]
    calls: list[float] = []
    behind = 0.0
    seq = first_seq - 1
    started = time.time()
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds and not halt.is_set():
        if rate:
            due = start + (seq - first_seq + 1) / rate
            if due > now:
                time.sleep(due - now)
            behind = max(behind, time.monotonic() - due)
        seq += 1
        called = time.perf_counter()
        event = {**base, "seq": seq, "completed_steps": seq, "modified": datetime.now(UTC).isoformat()}
        publish_events([event])
        publisher.wait()
        calls.append(time.perf_counter() - called)
    ended = time.time()
    call = timing("publish", calls)
    return {"count": len(calls), "first_seq": first_seq, "last_seq": seq, "started": started, "ended": ended,
            "rate": len(calls) / (ended - started), "behind": behind, "call_p50": call.p50, "call_p99": call.p99,
            "failures": failures.records}  # fmt: skip


def _finish(pk: int, seq: int, steps: int) -> dict[str, Any]:
    """The task's success (completed_steps = ``steps``): every subscription sends it and completes."""
    from user_tasks_graphql.core.events import load_events
    from user_tasks_graphql.live.publisher import publish_events
    from user_tasks_graphql.models import UserTaskStatus

    event = {**load_events(UserTaskStatus, [pk])[0], "seq": seq, "completed_steps": steps, "state": "Succeeded",
             "modified": datetime.now(UTC).isoformat()}  # fmt: skip
    publish_events([event])
    return {"seq": seq}


def _database_rate(pk: int, calls: int) -> dict[str, Any]:
    """Writes/s of ``increment_completed_steps()`` with coalescing off (each call: UPDATE, SELECT, publish)."""
    from django.conf import settings

    from user_tasks_graphql.models import UserTaskStatus

    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    status = UserTaskStatus.objects.get(pk=pk)
    for _ in range(20):
        status.increment_completed_steps()
    started = time.perf_counter()
    for _ in range(calls):
        status.increment_completed_steps()
    return {"rate": calls / (time.perf_counter() - started)}


def producer_main(env: dict[str, str], commands: Any, replies: Any, halt: Any) -> None:
    """Set up Django with ``env`` (which picks the channel layer), then run commands until None."""
    os.environ.update(env)
    import django

    django.setup()
    failures = _Count()
    logging.getLogger("user_tasks_graphql.live.publisher").addHandler(failures)
    handlers: dict[str, Callable[..., dict[str, Any]]] = {
        "stream": lambda **kw: _stream(failures=failures, halt=halt, **kw),
        "finish": _finish,
        "database_rate": _database_rate,
    }
    while (command := commands.get()) is not None:
        name, arguments = command
        try:
            replies.put(("ok", handlers[name](**arguments)))
        except Exception as exc:
            replies.put(("error", repr(exc)))


class Producer:
    """The publisher process for channel layer ``kind`` (``core`` or ``pubsub``), driven by commands."""

    def __init__(self, kind: str) -> None:
        from bench.servers import bench_environment

        self.commands, self.replies, self.halt = CONTEXT.Queue(), CONTEXT.Queue(), CONTEXT.Event()
        environment = bench_environment(CHANNEL_LAYER=kind)
        self.process = CONTEXT.Process(target=producer_main, daemon=True,
                                       args=(environment, self.commands, self.replies, self.halt))  # fmt: skip

    def send(self, name: str, **arguments: Any) -> None:
        """Start a command; ``stop_stream()`` ends a paced stream early, ``reply()`` waits for its result."""
        self.halt.clear()
        self.commands.put((name, arguments))

    def stop_stream(self) -> None:
        self.halt.set()

    def reply(self, timeout: float) -> dict[str, Any]:
        outcome, value = self.replies.get(timeout=timeout)
        if outcome != "ok":
            raise RuntimeError(f"publisher process: {value}")
        result: dict[str, Any] = value
        return result

    def call(self, name: str, timeout: float = 60, **arguments: Any) -> dict[str, Any]:
        self.send(name, **arguments)
        return self.reply(timeout)

    def __enter__(self) -> Producer:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.commands.put(None)
        stop_processes([self.process])


# ---- starting and stopping processes -------------------------------------------------------------


def stop_processes(processes: list[Any], timeout: float = 10) -> None:
    """Join each process; terminate, then kill, those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    for process in processes:
        if process.pid is None:
            continue
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.terminate()
            process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)


@contextlib.contextmanager
def started(processes: list[Any], done: Any = None) -> Iterator[list[Any]]:
    """Start the processes; on the way out set ``done`` (they then wrap up) and make sure none of
    them is left running."""
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        if done is not None:
            done.set()
        stop_processes(processes)


def gather_replies(replies: Any, kind: str, expected: int, timeout: float, done: Any = None) -> list[Any]:
    """``expected`` replies tagged ``kind`` (one per process) within ``timeout`` seconds; if they are
    late and ``done`` is given, set it (the processes then report what they have) and wait 30 s more."""
    deadline = time.monotonic() + timeout
    values: list[Any] = []
    while len(values) < expected:
        try:
            tag, value = replies.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            if done is None or done.is_set():
                raise
            done.set()
            deadline = time.monotonic() + 30
            continue
        if tag != kind:  # a process that finished early can report before another one is ready
            replies.put((tag, value))
            time.sleep(0.01)
            continue
        values.append(value)
    return values


def subscriber_processes(url: str, headers: dict[str, str], status_uuid: str, total: int, processes: int,
                         replies: Any, done: Any, pause: Any = None) -> list[Any]:  # fmt: skip
    """Unstarted processes holding ``total`` subscribers between them."""
    return [CONTEXT.Process(target=subscribers_main, args=(url, headers, status_uuid, count, replies, done, pause),
                            daemon=True) for count in shares(total, processes)]  # fmt: skip


# ---- readings ------------------------------------------------------------------------------------


class Sampler:
    """Calls ``probe`` every ``interval`` seconds in a thread while the block runs (RSS each second)."""

    def __init__(self, probe: Callable[[], float], interval: float = 1.0) -> None:
        self.samples: list[tuple[float, float]] = []
        self._probe, self._interval = probe, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.samples.append((time.time(), self._probe()))
            self._stop.wait(self._interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def between(self, since: float, until: float) -> list[float]:
        return [value for at, value in self.samples if since <= at <= until]


def redis_sockets(pid: int) -> tuple[int, int]:
    """Process ``pid``'s established TCP connections to the benchmark's Redis, and the bytes that
    arrived on them which the process has not read yet (the kernel's receive queues)."""
    port = urlparse(redis_url()).port or 6379
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    count = unread = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
                    unread += int(fields[4].split(":")[1], 16)
    return count, unread


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(redis_url())


def database_clients(client: redis.Redis) -> int:
    """Clients connected to the benchmark's Redis database (this Redis may serve other users too)."""
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return sum(1 for entry in client.client_list() if int(entry.get("db", -1)) == db)


def layer_counts(client: redis.Redis, kind: str, prefix: str, group: str) -> dict[str, int]:
    """Where channels-redis keeps membership: group sorted sets (core) or subscribed channels (pub/sub)."""
    if kind == "core":
        keys = list(client.scan_iter(match=f"{prefix}:group:*", count=1000))
        return {
            "members of this task's group (ZCARD)": int(client.zcard(f"{prefix}:group:{group}")),
            f"members of all `{prefix}:group:*` sets": sum(int(client.zcard(key)) for key in keys),
        }
    subscribed = dict(client.pubsub_numsub(f"{prefix}__group__{group}"))
    return {
        "Redis subscribers of this task's group channel (NUMSUB)": int(sum(subscribed.values())),
        f"subscribed channels `{prefix}*` (PUBSUB CHANNELS)": len(client.pubsub_channels(f"{prefix}*")),
        "pattern subscriptions (NUMPAT)": int(client.pubsub_numpat()),
    }


def layer_queues(client: redis.Redis, prefix: str) -> set[bytes]:
    """The core layer's per-process queue keys that exist now (taken before a server starts, so
    that queues left by earlier servers are not counted as its backlog)."""
    return set(client.scan_iter(match=f"{prefix}specific.*", count=1000))


def server_backlog(client: redis.Redis, kind: str, prefix: str, pid: int, earlier: set[bytes]) -> str:
    """What waits for server ``pid``: in Redis (the core layer's per-process queue; a pub/sub
    connection's output buffer) and in its sockets from Redis, received but not read yet."""
    if kind == "core":
        keys = layer_queues(client, prefix) - earlier
        in_redis = f"{sum(int(client.zcard(key)) for key in keys):,} messages"
    else:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        buffered = [int(entry.get("omem", 0)) for entry in client.client_list()
                    if int(entry.get("db", -1)) == db and "P" in entry.get("flags", "")]  # fmt: skip
        in_redis = f"{max(buffered, default=0) / 1024:,.0f} KiB"
    return f"{in_redis} + {redis_sockets(pid)[1] / 1024:,.0f} KiB unread"


def ms(seconds: float) -> str:
    """Milliseconds for a table cell; "-" when there is nothing to show (NaN)."""
    return "-" if seconds != seconds else f"{seconds * 1000:,.1f}"


def ratio(value: float, baseline: float) -> str:
    share = value / baseline if baseline else float("nan")
    return "-" if share != share else f"{share:.2f}x"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
