"""A slow consumer: one task at about 1,000 updates/s, 20 normal subscribers and one client that
stops reading its socket for 30 s (quick: 4 s, the default layer only), then resumes.

What must hold: the server's memory stays flat while that client does not read (each subscription
keeps only the newest pending event), the client gets the latest state once it reads again, and
the other subscribers do not notice (their p99 moves less than 20%). Baseline, in the same run:
the same schedule without the slow client, on a fresh server. The database cannot take 1,000
writes/s here, so the publisher process calls the library's ``publish_events`` with full-state
events of one status and growing ``seq`` (``completed_steps`` = ``seq``); the status row stays as
created. Run with channels-redis's core layer and with its pub/sub layer.
"""

from __future__ import annotations

import os
import platform
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
    gather_replies,
    median,
    ms,
    raise_open_files,
    ratio,
    started,
    subscriber_processes,
    timing,
)
from bench.harness import Timing
from bench.servers import free_port, rss_mib, running_status, session_cookie, start_server, stop, websocket_target

NORMAL = 20
PROCESSES = 4
RATE = 1000.0
LAYERS = ("core", "pubsub")


@dataclass
class Outcome:
    """One run: the normal clients' latency during the stall, the server's RSS, the slow client."""

    published: dict[str, Any]
    normal: Timing
    per_subscriber: float  # states each normal client received per second during the stall
    rss: list[float]  # server RSS each second from the stall's start to its end
    slow: Stream | None
    stall: tuple[float, float]
    normal_last: float = float("nan")  # median time the normal clients received the last published state
    notes: list[str] = field(default_factory=list)


def _run(kind: str, producer: Producer, owner: int, cookie: str, with_slow: bool, lead: float,
         pause: float, tail: float) -> Outcome:  # fmt: skip

    port = free_port()
    server = start_server(port, CHANNEL_LAYER=kind)
    replies, slow_replies, done = CONTEXT.Queue(), CONTEXT.Queue(), CONTEXT.Event()
    window = CONTEXT.Array("d", [0.0, 0.0], lock=False)  # the slow client's [stop, resume] wall times
    try:
        status = running_status(owner, "slow")
        url, headers = websocket_target(port, cookie)
        processes = subscriber_processes(url, headers, str(status.uuid), NORMAL, PROCESSES, replies, done)
        slow_process = subscriber_processes(url, headers, str(status.uuid), 1, 1, slow_replies, done, window)
        everyone = processes + (slow_process if with_slow else [])
        with started(everyone, done), Sampler(lambda: rss_mib(server.pid)) as rss:
            gather_replies(replies, "ready", len(processes), 120)
            if with_slow:
                gather_replies(slow_replies, "ready", 1, 120)
            time.sleep(1.0)  # let RSS settle after the connections
            begin = time.time()
            window[0], window[1] = begin + lead, begin + lead + pause
            producer.send("stream", pk=status.pk, rate=RATE, seconds=lead + pause - 1.0, first_seq=1)
            sent = producer.reply(timeout=lead + pause + 120)
            time.sleep(max(0.0, window[1] + tail - time.time()))
            producer.call("finish", pk=status.pk, seq=sent["last_seq"] + 1, steps=sent["last_seq"])
            batches = gather_replies(replies, "streams", len(processes), 60, done)
            slow = gather_replies(slow_replies, "streams", 1, 30, done)[0][0] if with_slow else None
    finally:
        done.set()
        stop(server)
    streams = [s for batch in batches for s in batch]
    stall = (begin + lead, begin + lead + pause)
    published_until = min(stall[1] - 1.0, sent["ended"])
    latencies = [x for s in streams for x in s.latencies(stall[0], published_until)]
    received = sum(s.count_received(stall[0], published_until) for s in streams)
    outcome = Outcome(sent, timing("normal subscribers", latencies), received / NORMAL / (published_until - stall[0]),
                      rss.between(stall[0], stall[1] + 0.5), slow, stall)  # fmt: skip
    last = sent["last_seq"]
    outcome.normal_last = median([next(r for r, n in zip(s.received, s.steps, strict=True) if n == last)
                                  for s in streams if last in s.steps])  # fmt: skip
    outcome.notes = sorted({s.problem for s in streams if s.problem})
    if sum(s.finished for s in streams) < NORMAL:
        outcome.notes.append(f"only {sum(s.finished for s in streams)}/{NORMAL} normal clients got the final state")
    return outcome


def _slow_summary(outcome: Outcome) -> str:
    """What the slow client read after resuming, and how soon it had the newest state."""
    slow, (stopped, resumed) = outcome.slow, outcome.stall
    assert slow is not None
    last = outcome.published["last_seq"]
    before = sum(1 for r in slow.received if r < stopped)
    after = [(r, n) for r, n in zip(slow.received, slow.steps, strict=True) if r >= resumed]
    reached = next((r for r, n in after if n == last), None)
    caught_up = "never" if reached is None else f"{(reached - resumed) * 1000:,.0f} ms"
    later = "-" if reached is None else ms(reached - max(resumed, outcome.normal_last))
    verdict = "yes" if reached is not None else "no"
    socket = slow.problem or ("completed" if slow.finished else "open")
    return (f"{before:,} | {len(after):,} | {caught_up} | {later} | {verdict} (completedSteps {last:,}) | "
            f"{'yes' if slow.finished else 'no'} | {socket}")  # fmt: skip


def _growth(outcome: Outcome) -> float:
    """MiB the server's RSS rose above its value at the stall's start (its highest reading)."""
    return max(outcome.rss) - outcome.rss[0] if outcome.rss else float("nan")


def _rss_row(outcome: Outcome) -> str:
    rss = outcome.rss or [float("nan")]
    return f"{rss[0]:.1f} | {max(rss):.1f} | {rss[-1]:.1f} | {_growth(outcome):+.1f}"


def run(quick: bool = False) -> str:
    lead, pause, tail = (2.0, 4.0, 2.0) if quick else (5.0, 30.0, 3.0)
    layers = ("pubsub",) if quick else LAYERS  # quick: the default layer only
    raise_open_files(4 * NORMAL)
    username = f"slow-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(username)
    owner = get_user_model().objects.get(username=username).pk
    results: dict[str, tuple[Outcome, Outcome]] = {}
    for kind in layers:
        with Producer(kind) as producer:
            baseline = _run(kind, producer, owner, cookie, False, lead, pause, tail)
            slowed = _run(kind, producer, owner, cookie, True, lead, pause, tail)
        results[kind] = (baseline, slowed)
    lines = [
        f"### Slow consumer: one task at {RATE:,.0f} events/s, {NORMAL} subscribers, one client not reading for "
        f"{pause:g} s",
        "",
        f"`python bench/run.py{' --quick' if quick else ''} --only slow_consumer`; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; normal subscribers in {PROCESSES} client processes, the slow client in a "
        f"fifth; a fresh server for each row. Publishing runs {lead:g} s before the stall and stops 1 s before the "
        f"slow client reads again, {tail:g} s before the task's success is published.",
        "",
        "| layer | run | published/s | normal p50 ms | normal p99 ms | p99 / baseline | states per normal client/s "
        "| server RSS at stall start MiB | max MiB | at stall end MiB | growth (max - start) MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, (baseline, slowed) in results.items():
        for name, outcome in (("baseline: no slow client", baseline), ("one client not reading", slowed)):
            lines.append(f"| {kind} | {name} | {outcome.published['rate']:,.0f} | {ms(outcome.normal.p50)} | "
                         f"{ms(outcome.normal.p99)} | {ratio(outcome.normal.p99, baseline.normal.p99)} | "
                         f"{outcome.per_subscriber:,.1f} | {_rss_row(outcome)} |")  # fmt: skip
    lines += [
        "",
        "| layer | slow client: states read before the stall | after resuming | time from resuming to the last "
        "published state | ms after the normal clients had it (median) | got the last state | got the finished "
        "state | socket |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {kind} | {_slow_summary(slowed)} |" for kind, (_, slowed) in results.items()]
    lines.append("")
    for kind, (baseline, slowed) in results.items():
        lines.append(f"- {kind}, server RSS each second of the stall, MiB: " + " ".join(f"{x:.1f}" for x in slowed.rss))
        for name, outcome in (("baseline", baseline), ("with the slow client", slowed)):
            p = outcome.published
            extra = [f"publish call p50 {p['call_p50'] * 1000:.2f} ms, p99 {p['call_p99'] * 1000:.2f} ms",
                     f"at most {p['behind'] * 1000:,.0f} ms behind its schedule"]  # fmt: skip
            if p["failures"]:
                extra.append(f"{p['failures']} publish failures logged")
            lines.append(f"- {kind}, {name}: {'; '.join([*extra, *outcome.notes])}")
    verdicts = []
    for kind, (baseline, slowed) in results.items():
        moved = slowed.normal.p99 / baseline.normal.p99
        slow = slowed.slow
        got_last = slow is not None and slowed.published["last_seq"] in slow.steps
        verdicts.append(f"{kind}: normal clients' p99 {ratio(slowed.normal.p99, baseline.normal.p99)} the baseline's "
                        f"(target 0.8-1.2x: {'met' if 0.8 <= moved <= 1.2 else 'missed'}), server RSS "
                        f"{_growth(slowed):+.1f} MiB over the stall ({_growth(baseline):+.1f} without the slow "
                        f"client), slow client {'got' if got_last else 'did not get'} the last state")  # fmt: skip
    added = max(_growth(slowed) - _growth(baseline) for baseline, slowed in results.values())
    drift = max(_growth(baseline) for baseline, _ in results.values()) / pause
    memory = (f"The slow client added at most {added:+.1f} MiB of server RSS beyond the same run without it "
              f"(target: under 2 MiB): {'met' if added < 2 else 'missed'}.")  # fmt: skip
    if drift * pause >= 2:
        memory += (f" Without any slow client the server's RSS still rose by up to {drift:.2f} MiB/s while events "
                   "flowed, which this benchmark does not explain.")  # fmt: skip
    lines += [
        "",
        "Latency is publish call to receipt (the event's `modified` is stamped just before `publish_events`; both "
        "ends read `time.time()` on this host), over events published while the slow client was not reading. The "
        "slow client stops calling `recv()`: websockets then stops reading its socket after 16 queued frames, and "
        "the rest waits in the kernel's socket buffers (both ends) until the server's writes block; the states it "
        "reads right after resuming come from those buffers. RSS is the server process's, read from `/proc` once "
        f"a second. Median publish rate over all runs: "
        f"{median([o.published['rate'] for pair in results.values() for o in pair]):,.0f}/s (target {RATE:,.0f}/s).",
        "",
        "What this means for you: "
        + "; ".join(verdicts)
        + ". "
        + memory
        + " Whatever was already in its socket buffers is read first when it resumes, then the newest state.",
    ]
    return "\n".join(lines)
