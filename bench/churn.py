"""Connection churn: 100 websockets a second connect, subscribe, read a little and leave, for 60 s
(quick: 4 s, the default layer only), while a task publishes live updates, on one uvicorn process.

A leak here would show after the churn: Redis connections the server opened and kept, channel
layer memberships nobody discards (group sorted sets for the core layer, subscribed channels for
the pub/sub layer), server memory that grew with the number of connections served. Baseline, in the
same run: the same readings after a short warm-up churn at the same rate (so that the baseline
already includes what serving that many sockets at once costs), with the task publishing and 10
steady subscribers connected throughout (they also show whether live updates kept flowing to the
others during the churn). Run with channels-redis's core layer and with its pub/sub layer.
"""

from __future__ import annotations

import os
import platform
import queue
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from bench.clients import (
    CONTEXT,
    Producer,
    Sampler,
    Stream,
    churn_main,
    database_clients,
    gather_replies,
    layer_counts,
    ms,
    raise_open_files,
    ratio,
    redis_client,
    redis_sockets,
    started,
    subscriber_processes,
    timing,
)
from bench.harness import Timing
from bench.servers import free_port, rss_mib, running_status, session_cookie, start_server, stop, websocket_target

RATE = 100.0  # new connections per second
PROCESSES = 4
STEADY = 10
UPDATES = 20.0  # the task's events per second
LAYERS = ("core", "pubsub")


@dataclass
class Outcome:
    """One layer's run: the readings, what the churning clients saw, the steady subscribers' latency."""

    readings: dict[str, dict[str, float]]  # "fresh" / "before" / "after" / "later" -> what was read
    warmup: list[dict[str, Any]]  # one summary per churn process, warm-up phase
    churn: list[dict[str, Any]]  # the same, measured phase
    steady_before: Timing
    steady_during: Timing
    rss_during: list[float]
    published: dict[str, Any]
    seconds: float
    notes: list[str] = field(default_factory=list)


def _read(kind: str, prefix: str, group: str, pid: int) -> dict[str, float]:
    client = redis_client()
    try:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        everyone = int(client.info("clients")["connected_clients"])
        return {
            "Redis `connected_clients` (INFO; every user of this Redis)": everyone,
            f"clients on Redis database {db} (CLIENT LIST)": database_clients(client),
            "server process's TCP connections to Redis": redis_sockets(pid)[0],
            **layer_counts(client, kind, prefix, group),
            "server RSS, MiB": rss_mib(pid),
        }
    finally:
        client.close()


def _churn_reply(replies: Any, timeout: float) -> dict[str, Any]:
    try:
        reply: dict[str, Any] = replies.get(timeout=timeout)
    except queue.Empty:
        return {"setup": [], "errors": {"churn process did not report": 1}, "updates": 0, "skipped": 0, "peak": 0,
                "unfinished": 0, "seconds": 0.0}  # fmt: skip
    return reply


def _churn(url: str, headers: dict[str, str], status_uuid: str, seconds: float) -> tuple[float, list[dict[str, Any]]]:
    """One churn phase from processes of its own: (wall time it began, each process's summary)."""
    replies = CONTEXT.Queue()
    begin_at = time.time() + 3  # the processes need a moment to start
    churners = [CONTEXT.Process(target=churn_main, daemon=True,
                                args=(url, headers, status_uuid, RATE / PROCESSES, seconds, begin_at, replies))
                for _ in range(PROCESSES)]  # fmt: skip
    with started(churners):
        return begin_at, [_churn_reply(replies, seconds + 180) for _ in churners]


def _run(kind: str, producer: Producer, owner: int, cookie: str, seconds: float, warmup: float,
         settle: float) -> Outcome:  # fmt: skip
    from user_tasks_graphql.live.groups import status_group

    prefix = os.environ.get("CHANNEL_LAYER_PREFIX", "asgi")
    port = free_port()
    server = start_server(port, CHANNEL_LAYER=kind)
    replies, done = CONTEXT.Queue(), CONTEXT.Event()
    readings: dict[str, dict[str, float]] = {}
    try:
        status = running_status(owner, "churn")
        group, task = status_group(status.uuid), str(status.uuid)
        url, headers = websocket_target(port, cookie)
        steady = subscriber_processes(url, headers, task, STEADY, 2, replies, done)
        with started(steady, done), Sampler(lambda: rss_mib(server.pid)) as rss:
            gather_replies(replies, "ready", len(steady), 120)
            producer.send("stream", pk=status.pk, rate=UPDATES, seconds=3600, first_seq=1)
            streaming = time.time()
            time.sleep(settle)
            readings["fresh"] = _read(kind, prefix, group, server.pid)
            quiet = time.time()
            _, warm = _churn(url, headers, task, warmup)  # so the baseline includes what serving sockets costs
            time.sleep(settle)
            readings["before"] = _read(kind, prefix, group, server.pid)
            begin_at, churn = _churn(url, headers, task, seconds)
            ended = time.time()
            time.sleep(settle)
            readings["after"] = _read(kind, prefix, group, server.pid)
            time.sleep(3 * settle)
            readings["later"] = _read(kind, prefix, group, server.pid)
            producer.stop_stream()
            sent = producer.reply(timeout=60)
            producer.call("finish", pk=status.pk, seq=sent["last_seq"] + 1, steps=sent["last_seq"])
            batches = gather_replies(replies, "streams", len(steady), 60, done)
    finally:
        done.set()
        stop(server)
    streams: list[Stream] = [s for batch in batches for s in batch]
    before = [x for s in streams for x in s.latencies(streaming + 1, quiet)]
    during = [x for s in streams for x in s.latencies(begin_at, begin_at + seconds)]
    outcome = Outcome(readings, warm, churn, timing("steady, before", before), timing("steady, during", during),
                      rss.between(begin_at, ended), sent, seconds)  # fmt: skip
    outcome.notes = sorted({s.problem for s in streams if s.problem})
    finished = sum(s.finished for s in streams)
    if finished < STEADY:
        outcome.notes.append(f"only {finished}/{STEADY} steady subscribers got the final state")
    return outcome


def _number(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def _table(kind: str, outcome: Outcome) -> list[str]:
    fresh, before, after, later = (outcome.readings[k] for k in ("fresh", "before", "after", "later"))
    lines = [
        f"| {kind} layer | fresh server | after the warm-up churn (baseline) | after the churn | later | later / "
        "baseline |",
        "|---|---|---|---|---|---|",
    ]
    for name, value in before.items():
        lines.append(f"| {name} | {_number(fresh[name])} | {_number(value)} | {_number(after[name])} | "
                     f"{_number(later[name])} | {ratio(later[name], value) if value else '-'} |")  # fmt: skip
    return lines


def _churn_summary(kind: str, outcome: Outcome) -> str:
    setup = [x for c in outcome.churn for x in c["setup"]]
    errors: dict[str, int] = {}
    for c in outcome.churn:
        for name, count in c["errors"].items():
            errors[name] = errors.get(name, 0) + count
    attempted = int(RATE * outcome.seconds)
    skipped = sum(c["skipped"] for c in outcome.churn)
    unfinished = sum(c["unfinished"] for c in outcome.churn)
    connect = timing("connect", setup)
    rss = outcome.rss_during
    quarters = " / ".join(f"{rss[min(len(rss) - 1, len(rss) * q // 4)]:.1f}" for q in (0, 1, 2, 3, 4)) if rss else "-"
    peaks = f"{sum(c['peak'] for c in outcome.warmup):,} / {sum(c['peak'] for c in outcome.churn):,}"
    served = len(setup) / max([c["seconds"] for c in outcome.churn if c["seconds"]], default=float("nan"))
    failed = ", ".join(f"{name} {count}" for name, count in errors.items()) or "none"
    steady = outcome.steady_before.p99, outcome.steady_during.p99
    return (f"| {kind} | {attempted:,} | {len(setup):,} | {served:,.0f} | {failed} | {skipped + unfinished} | "
            f"{peaks} | {ms(connect.p50)} | {ms(connect.p99)} | {ms(steady[0])} | {ms(steady[1])} | "
            f"{ratio(steady[1], steady[0])} | {quarters} |")  # fmt: skip


def _grew(outcome: Outcome) -> list[str]:
    """Readings that ended above their baseline (RSS: by more than 5 MiB)."""
    before, later = outcome.readings["before"], outcome.readings["later"]
    grew = []
    for name, value in before.items():
        if "every user" in name:  # other users' connections come and go
            continue
        if later[name] - value > (5.0 if "RSS" in name else 0):
            grew.append(f"{name} {_number(value)} -> {_number(later[name])}")
    return grew


def run(quick: bool = False) -> str:
    seconds, warmup, settle = (4.0, 2.0, 2.0) if quick else (60.0, 10.0, 5.0)
    layers = ("pubsub",) if quick else LAYERS  # quick: the default layer only
    raise_open_files(int(RATE * 10) + 256)
    username = f"churn-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    owner = get_user_model().objects.get(username=username).pk
    results: dict[str, Outcome] = {}
    for kind in layers:
        with Producer(kind) as producer:
            results[kind] = _run(kind, producer, owner, cookie, seconds, warmup, settle)
    lines = [
        f"### Connection churn: {RATE:,.0f} websockets/s connect, subscribe and leave for {seconds:g} s",
        "",
        f"`python bench/run.py{' --quick' if quick else ''} --only churn`; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; one uvicorn process per layer; the task publishes {UPDATES:g} events/s "
        f"throughout; {STEADY} steady subscribers stay connected; churn from {PROCESSES} client processes. Each "
        "churned socket subscribes to the task, reads its snapshot and live updates for 0-0.9 s, then leaves: half "
        "close cleanly, half drop the TCP connection without a close frame. Readings: on the fresh server, "
        f"{settle:g} s after a {warmup:g} s warm-up churn at the same rate (the baseline: a server that has served "
        f"that many sockets at once), {settle:g} s after the churn and {4 * settle:g} s after it.",
        "",
    ]
    for kind, outcome in results.items():
        lines += [*_table(kind, outcome), ""]
    lines += [
        "| layer | sockets started | reached their snapshot | snapshots served/s | errors | skipped or unfinished "
        "| most open at once (warm-up / churn) | connect to snapshot p50 ms | p99 ms | steady subscribers' p99 "
        "before, ms | during churn, ms | during / before | server RSS at 0/25/50/75/100% of the churn, MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_churn_summary(kind, outcome) for kind, outcome in results.items()),
        "",
    ]
    for kind, outcome in results.items():
        p = outcome.published
        notes = [f"published {p['count']:,} events at {p['rate']:,.1f}/s", *outcome.notes]
        if p["failures"]:
            notes.append(f"{p['failures']} publish failures logged")
        lines.append(f"- {kind}: {'; '.join(notes)}")
    verdicts = []
    for kind, outcome in results.items():
        grew = _grew(outcome)
        peaks = (sum(c["peak"] for c in outcome.warmup), sum(c["peak"] for c in outcome.churn))
        served = sum(len(c["setup"]) for c in outcome.churn)
        verdicts.append(f"{kind}: " + ("nothing stayed above its baseline" if not grew else "; ".join(grew))
                        + f" (sockets open at once: at most {peaks[0]:,} in the warm-up, {peaks[1]:,} in the churn; "
                        f"{served:,} of {int(RATE * outcome.seconds):,} sockets got their snapshot)")  # fmt: skip
    lines += [
        "",
        "`connected_clients` counts every client of this Redis, other users' included: the server's own TCP "
        "connections to Redis (from `/proc`) and the clients on the benchmark's database are the readings to trust. "
        "For the core layer, membership is the members of the task's group sorted set (and of every group set "
        "under the prefix, stale members of earlier runs included); for the pub/sub layer, the Redis subscribers "
        "of the task's group channel and every channel subscribed under the prefix. Latency of the steady "
        "subscribers is publish call to receipt; connect to snapshot is measured by the churning client, from "
        "opening the TCP connection to receiving the first `next`; snapshots served/s divides the sockets that got "
        "theirs by the time from the churn's start until its last socket left (below 100/s: the server fell behind "
        "and sockets piled up, which the most-open-at-once column shows).",
        "",
        "What this means for you (target: nothing above its baseline after the churn; RSS within 5 MiB): "
        + "; ".join(verdicts)
        + ".",
    ]
    return "\n".join(lines)
