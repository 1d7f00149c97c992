"""Worker update to websocket client: latency and delivery for many subscribers of one task.

A real uvicorn server, the Redis channel layer and PostgreSQL; the task's updates come from this
process through the same code a Celery worker runs; the subscribers run in 4 processes of their
own. Baseline, in the same run: a raw Redis PUBLISH to the same number of Redis subscribers.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
import websockets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.typing import Subprotocol

from bench.harness import Timing, redis_url, report
from bench.servers import free_port, start_server, stop, websocket_target

QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { completedSteps state modified } }"


async def _subscriber(url: str, headers: dict[str, str], status_uuid: str, received: list[tuple[float, dict]],
                      close: asyncio.Event) -> None:  # fmt: skip
    """One SPA tab: it keeps its socket open after the task finishes (as a tab with other subscriptions does)."""
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                  additional_headers=headers) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        payload = {"query": QUERY, "variables": {"u": status_uuid}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "complete":
                await close.wait()
                return
            if message["type"] == "next":
                received.append((time.time(), message["payload"]["data"]["userTaskStatus"]))


def client_process(url: str, headers: dict[str, str], status_uuid: str, count: int, results: Any, done: Any) -> None:
    """``count`` subscribers in a process of their own, so reading 100 sockets does not queue in one loop."""

    async def main() -> None:
        streams: list[list[tuple[float, dict]]] = [[] for _ in range(count)]
        close = asyncio.Event()
        clients = [asyncio.create_task(_subscriber(url, headers, status_uuid, s, close)) for s in streams]
        while not all(streams):
            await asyncio.sleep(0.02)
        results.put("ready")
        while not all(s[-1][1]["state"] == "SUCCEEDED" for s in streams):
            await asyncio.sleep(0.05)
        results.put(streams)
        await asyncio.to_thread(done.wait)
        close.set()
        await asyncio.gather(*clients)

    asyncio.run(main())


def _percentiles(name: str, samples: list[float]) -> Timing:
    return Timing(name, samples or [float("nan")])


def _ours(subscribers: int, rate: float, seconds: float, processes: int = 4) -> tuple[list[Timing], str]:
    from user_tasks_graphql.core import progress
    from user_tasks_graphql.models import UserTaskStatus
    from user_tasks_graphql.worker.flusher import flusher

    port = free_port()
    server = start_server(port)
    context = multiprocessing.get_context("spawn")
    results, done = context.Queue(), context.Event()
    workers: list[Any] = []
    try:
        user = get_user_model().objects.create_user(f"e2e-{uuid.uuid4().hex[:6]}")
        client = Client()
        client.force_login(user)
        url, headers = websocket_target(port, client.cookies["sessionid"].value)
        updates = int(rate * seconds)
        status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="bench.e2e",
                                               name="e2e", total_steps=updates, state="In Progress")  # fmt: skip
        share = [subscribers // processes + (i < subscribers % processes) for i in range(processes)]
        for count in share:
            worker = context.Process(target=client_process, args=(url, headers,
                                                                  str(status.uuid), count, results, done))  # fmt: skip
            worker.start()
            workers.append(worker)
        for _ in workers:  # every snapshot arrived: all are listening
            assert results.get(timeout=60) == "ready"
        progress.install_background_writer(
            flusher.watch
        )  # as in a Celery worker: steps left waiting are written on time
        increments: list[float] = []
        started = time.monotonic()
        for step in range(updates):
            time.sleep(max(0.0, started + step / rate - time.monotonic()))
            increments.append(time.time())
            status.increment_completed_steps()
        status.succeed()
        streams = [stream for _ in workers for stream in results.get(timeout=60)]
        done.set()
        for worker in workers:
            worker.join(30)
    finally:
        done.set()
        stop(server)
    from datetime import datetime

    event_latency, increment_latency = [], []
    finished = 0
    by_event: dict[str, list[float]] = {}
    for stream in streams:
        updates_seen = [(at, node) for at, node in stream[2:]]  # after the snapshot and one warm-up event
        for at, node in updates_seen:
            event_latency.append(at - datetime.fromisoformat(node["modified"]).timestamp())
            by_event.setdefault(node["modified"], []).append(event_latency[-1])
        for k, made in enumerate(increments[1:], start=2):
            first = next((at for at, node in updates_seen if node["completedSteps"] >= k), None)
            if first is not None:
                increment_latency.append(first - made)
        finished += bool(stream) and stream[-1][1]["state"] == "SUCCEEDED"
    delivered = sum(len(s) - 1 for s in streams) / subscribers
    if os.environ.get("BENCH_VERBOSE"):
        for modified, values in sorted(by_event.items()):
            print(modified, len(values), f"min {min(values) * 1000:.1f} max {max(values) * 1000:.1f}")
    interval = getattr(settings, "USER_TASKS_PROGRESS_INTERVAL", 0.2)
    note = (
        f"{subscribers} subscribers, {updates} increments at {rate:g}/s then success. Subscribers that received the "
        f"finished state: {finished}/{subscribers}. States received per subscriber: {delivered:.1f} (increments are "
        f"coalesced into one write per {interval} s). The first update after subscribing is a warm-up, not counted."
    )
    return [
        _percentiles("ours: database write to client receipt (per event)", event_latency),
        _percentiles("ours: increment call to client receipt (includes coalescing wait)", increment_latency),
    ], note


async def _redis_baseline(subscribers: int, rate: float, seconds: float) -> Timing:
    client = aioredis.Redis.from_url(redis_url(), max_connections=1000)
    latencies: list[float] = []
    channel = f"bench.e2e.{uuid.uuid4().hex}"

    async def listen(ready: asyncio.Event) -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        ready.set()
        async for message in pubsub.listen():
            if message["type"] == "message":
                if message["data"] == b"end":
                    break
                latencies.append(time.time() - float(message["data"]))
        await pubsub.aclose()

    events = [asyncio.Event() for _ in range(subscribers)]
    listeners = [asyncio.create_task(listen(event)) for event in events]
    await asyncio.gather(*(event.wait() for event in events))
    start = time.monotonic()
    for step in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + step / rate - time.monotonic()))
        await client.publish(channel, str(time.time()))
    await client.publish(channel, "end")
    await asyncio.gather(*listeners)
    await client.aclose()
    return Timing("baseline: raw Redis PUBLISH to subscriber", latencies)


def run(quick: bool = False, subscribers: int = 100, rate: float = 10.0) -> str:
    seconds = 5.0 if quick else 20.0
    baseline = asyncio.run(_redis_baseline(subscribers, rate, seconds))
    ours, note = _ours(subscribers, rate, seconds)
    return (
        report(f"End-to-end latency: {subscribers} subscribers of one task at {rate:g} updates/s", baseline, ours)
        + "\n\n"
        + note
    )
