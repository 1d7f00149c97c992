"""Fan-out saturation: one task publishing back to back, N = 10, 100, 1,000 subscribers on one
uvicorn process, with channels-redis's core layer and with its pub/sub layer.

The publisher runs in a process of its own with the same kind of layer as the server and calls
the library's publisher (``publish_events``) with full-state events of one status, growing
``seq``, as fast as one call after the other goes: a database write per event would cap the rate
at what PostgreSQL takes (measured and reported alongside). Each subscription keeps only the
newest pending event, so a saturated server sends fewer, fresher states rather than a backlog:
what saturation costs shows in messages delivered per second and in latency. A series stops once
p99 passes 1 s. Baseline, in the same run: raw Redis PUBLISH back to back to N redis-py
subscribers in the same client processes.
"""

from __future__ import annotations

import asyncio
import os
import platform
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from bench.clients import (
    CONTEXT,
    Producer,
    Sampler,
    Stream,
    gather_replies,
    layer_queues,
    ms,
    raise_open_files,
    ratio,
    redis_client,
    redis_publisher,
    redis_subscribers_main,
    server_backlog,
    shares,
    started,
    subscriber_processes,
    timing,
)
from bench.harness import Timing, redis_url
from bench.servers import (
    cpu_seconds,
    free_port,
    rss_mib,
    running_status,
    session_cookie,
    start_server,
    stop,
    websocket_target,
)

SUBSCRIBERS = (10, 100, 1000)
PROCESSES = 4
P99_LIMIT = 1.0
WINDOW = 32  # raw baseline: messages in flight beyond the slowest subscriber (bounds Redis's buffers)
LAYERS = ("core", "pubsub")


@dataclass
class Point:
    """One measured row: who published, how many subscribers, what they received."""

    name: str
    subscribers: int
    published: float  # events (messages) per second the publisher managed
    delivered: float  # messages per second received by all subscribers together
    latency: Timing
    finished: int  # subscribers that received the last state
    cpu: float = float("nan")  # server CPU seconds per second while publishing
    backlog: str = "-"  # what waited for the server (in Redis, in its sockets) when publishing stopped
    rss: float = float("nan")  # server RSS at the end of publishing, MiB
    notes: list[str] = field(default_factory=list)


def _measure(name: str, streams: list[Stream], subscribers: int, published: float, since: float,
             until: float) -> Point:  # fmt: skip
    latencies = [x for s in streams for x in s.latencies(since, until)]
    delivered = sum(s.count_received(since, until) for s in streams) / (until - since)
    finished = sum(s.finished for s in streams)
    problems = Counter(s.problem for s in streams if s.problem)
    notes = [f"{count} subscriber(s): {problem}" for problem, count in sorted(problems.items())]
    return Point(name, subscribers, published, delivered, timing(name, latencies), finished, notes=notes)


def _ours(kind: str, producer: Producer, cookie: str, user_id: int, subscribers: int, seconds: float,
          warmup: float) -> Point:  # fmt: skip

    prefix = os.environ.get("CHANNEL_LAYER_PREFIX", "asgi")
    port = free_port()
    server = start_server(port, CHANNEL_LAYER=kind)
    replies, done = CONTEXT.Queue(), CONTEXT.Event()
    try:
        status = running_status(user_id, "fanout")
        url, headers = websocket_target(port, cookie)
        processes = subscriber_processes(url, headers, str(status.uuid), subscribers, PROCESSES, replies, done)
        with redis_client() as client:
            earlier = layer_queues(client, prefix)
        with started(processes, done):
            ready = sum(gather_replies(replies, "ready", len(processes), 240))
            cpu = cpu_seconds(server.pid)
            with Sampler(lambda: rss_mib(server.pid)) as rss:
                sent = producer.call("stream", timeout=seconds + 120, pk=status.pk, rate=0, seconds=seconds,
                                     first_seq=1)  # fmt: skip
            cpu = (cpu_seconds(server.pid) - cpu) / (sent["ended"] - sent["started"])
            with redis_client() as client:
                backlog = server_backlog(client, kind, prefix, server.pid, earlier)
            producer.call("finish", pk=status.pk, seq=sent["last_seq"] + 1, steps=sent["last_seq"])
            batches = gather_replies(replies, "streams", len(processes), 30 + subscribers / 20, done)
    finally:
        done.set()
        stop(server)
    streams = [s for batch in batches for s in batch]
    point = _measure(f"ours, {kind} layer", streams, subscribers, sent["rate"], sent["started"] + warmup,
                     sent["ended"])  # fmt: skip
    point.cpu, point.backlog = cpu, backlog
    point.rss = rss.samples[-1][1] if rss.samples else float("nan")
    if ready < subscribers:
        point.notes.append(f"only {ready} snapshots before publishing")
    if sent["failures"]:
        point.notes.append(f"{sent['failures']} publish failures logged")
    point.notes.append(f"publish call p50 {sent['call_p50'] * 1000:.2f} ms, p99 {sent['call_p99'] * 1000:.2f} ms")
    return point


def _baseline(subscribers: int, seconds: float, warmup: float) -> Point:
    prefix = os.environ.get("CHANNEL_LAYER_PREFIX", "asgi")
    channel = f"{prefix}.bench.fanout.{uuid.uuid4().hex}"
    counts = shares(subscribers, PROCESSES)
    replies, done = CONTEXT.Queue(), CONTEXT.Event()
    acked = CONTEXT.Array("q", len(counts), lock=False)
    processes = [CONTEXT.Process(target=redis_subscribers_main, daemon=True,
                                 args=(redis_url(), channel, count, slot, acked, replies, done))
                 for slot, count in enumerate(counts)]  # fmt: skip
    try:
        with started(processes, done):
            gather_replies(replies, "ready", len(processes), 240)
            published, begun, ended = asyncio.run(redis_publisher(channel, seconds, WINDOW, acked))
            batches = gather_replies(replies, "streams", len(processes), 60, done)
    finally:
        done.set()
    streams = [s for batch in batches for s in batch]
    return _measure("baseline: raw Redis PUBLISH", streams, subscribers, published / (ended - begun), begun + warmup,
                    ended)  # fmt: skip


def _row(point: Point, base: Point) -> str:
    per_subscriber = point.delivered / point.subscribers
    cpu = "-" if point.cpu != point.cpu else f"{point.cpu * 100:.0f}%"
    rss = "-" if point.rss != point.rss else f"{point.rss:.0f}"
    return (f"| {point.subscribers:,} | {point.name} | {point.published:,.0f} | {point.delivered:,.0f} | "
            f"{per_subscriber:,.1f} | {ms(point.latency.p50)} | {ms(point.latency.p99)} | "
            f"{ratio(point.delivered, base.delivered)} | {ratio(point.latency.p99, base.latency.p99)} | "
            f"{cpu} | {rss} | {point.backlog} | {point.finished}/{point.subscribers} |")  # fmt: skip


def _failed(point: Point) -> str:
    """Why the series stops after this point ('' if it goes on)."""
    if not point.latency.samples or point.latency.p99 != point.latency.p99:
        return "no event reached any subscriber"
    if point.latency.p99 > P99_LIMIT:
        return f"p99 {ms(point.latency.p99)} ms > 1 s"
    return ""


def _verdict(series: dict[str, list[Point]]) -> str:
    """Which layer did better at each N both reached, in throughput and in p99."""
    silent = [kind for kind, points in series.items() if not any(p.delivered for p in points)]
    if silent:
        others = [kind for kind in series if kind not in silent]
        return (f"the {' and '.join(silent)} series delivered no events at all in this run (see the notes), so this "
                f"run's data favours **{others[0] if others else 'neither'}** as the default layer.")  # fmt: skip
    core = {p.subscribers: p for p in series["core"]}
    pubsub = {p.subscribers: p for p in series["pubsub"]}
    both = sorted(set(core) & set(pubsub))
    throughput = [n for n in both if pubsub[n].delivered > core[n].delivered]
    latency = [n for n in both if pubsub[n].latency.p99 < core[n].latency.p99]
    reach = {kind: max((p.subscribers for p in points if not _failed(p)), default=0)
             for kind, points in series.items()}  # fmt: skip
    score = (
        len(throughput)
        + len(latency)
        - len(both)
        + (reach["pubsub"] > reach["core"])
        - (reach["core"] > reach["pubsub"])
    )
    favoured = "pub/sub" if score > 0 else "core" if score < 0 else "neither"
    return (f"pub/sub delivered more messages/s than core at N = {', '.join(map(str, throughput)) or 'none'} and "
            f"had the lower p99 at N = {', '.join(map(str, latency)) or 'none'} (of {', '.join(map(str, both))}); "
            f"the largest N with p99 within 1 s: core {reach['core']:,}, pub/sub {reach['pubsub']:,}. This run's "
            f"data favours **{favoured}** as the default layer.")  # fmt: skip


def run(quick: bool = False) -> str:

    seconds, warmup = (2.0, 1.0) if quick else (15.0, 3.0)
    sizes = SUBSCRIBERS[:2] if quick else SUBSCRIBERS  # quick: up to 100 subscribers
    raise_open_files(2 * max(sizes) + 512)
    username = f"fanout-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    viewer = get_user_model().objects.get(username=username)
    baselines = {n: _baseline(n, seconds, warmup) for n in sizes}
    series: dict[str, list[Point]] = {}
    database: dict[str, float] = {}
    stopped: list[str] = []
    for kind in LAYERS:
        series[kind] = []
        with Producer(kind) as producer:
            spare = running_status(viewer.pk, "rate")
            database[kind] = producer.call("database_rate", timeout=120, pk=spare.pk, calls=300)["rate"]
            for n in sizes:
                point = _ours(kind, producer, cookie, viewer.pk, n, seconds, warmup)
                series[kind].append(point)
                if reason := _failed(point):
                    if n != sizes[-1]:
                        stopped.append(f"{kind} series stopped after N = {n:,}: {reason}")
                    break
    lines = [
        "### Fan-out: one task publishing back to back to N subscribers on one uvicorn process",
        "",
        f"`python bench/run.py{' --quick' if quick else ''} --only fanout`; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {seconds:g} s of publishing per row, the first {warmup:g} s not counted; "
        f"subscribers in {PROCESSES} client processes; a fresh server for each row.",
        "",
        "| N | workload | published/s | delivered msg/s | per subscriber/s | p50 ms | p99 ms | delivered / "
        "baseline | p99 / baseline | server CPU | server RSS MiB | waiting for the server at the end | last state "
        "received |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        base = baselines[n]
        lines.append(_row(base, base))
        lines += [_row(p, base) for kind in LAYERS for p in series[kind] if p.subscribers == n]
    notes = [f"{p.name}, N = {p.subscribers:,}: {'; '.join(p.notes)}" for kind in LAYERS for p in series[kind]]
    notes += [f"{b.name}, N = {n:,}: {'; '.join(b.notes)}" for n, b in baselines.items() if b.notes]
    lines += ["", *(f"- {note}" for note in [*notes, *stopped])]
    lines += [
        "",
        "Latency is publish call to receipt by the client process (both stamp `time.time()` on this host: the "
        "event's `modified` is set just before `publish_events`); it includes the publisher's channel-layer round "
        "trip, Redis, the server's fan-out, GraphQL execution, the websocket write and the client's JSON parsing, on "
        '2 cores shared by the server, the publisher, the client processes and Redis. "Delivered" counts messages '
        'received in the window; each subscription keeps only the newest pending state, so "per subscriber/s" '
        'below "published/s" means states were skipped, not lost (the last one arrived: last column). "Waiting '
        "for the server\" is read when publishing stops: in Redis, the core layer's queue for the server process "
        "(at most `capacity`, 1,000 here; older messages are dropped beyond it) or the largest output buffer of a "
        "pub/sub connection; then the bytes in the server's sockets from Redis that it has not read yet. The "
        f"baseline's publisher keeps at most {WINDOW} messages beyond its slowest subscriber (else Redis would buffer "
        "without bound), so its latency is a wait behind up to that many messages, not a bare round trip. Server "
        "CPU is its CPU seconds per wall second while publishing (100% = one core). The events were published "
        "straight through `user_tasks_graphql.live.publisher.publish_events`, not written to the database first: "
        "`increment_completed_steps()` with `USER_TASKS_PROGRESS_INTERVAL = 0` managed "
        f"{database['core']:,.0f} writes/s (core layer) and {database['pubsub']:,.0f} writes/s (pub/sub) in the "
        "same publisher process (an UPDATE, a SELECT and a publish each), against "
        f"{max(p.published for points in series.values() for p in points):,.0f} events/s at best published directly.",
        "",
        "What this means for you: " + _verdict(series) + " Where a saturated server's backlog sits differs: the "
        "core layer keeps it in Redis, bounded by `capacity` (the oldest messages are dropped beyond it), so the "
        "server is late by up to that many events; the pub/sub layer pushes every message to the server, whose "
        "queues are unbounded, so the backlog sits in its socket buffers and memory.",
    ]
    return "\n".join(lines)
