"""Server memory per idle websocket and per idle subscription, at 1,000 of each on one process.

Side by side in one run: the server's RSS with no sockets, with N sockets that only completed
``connection_init`` (the baseline: what a websocket costs anyway), and with N sockets each holding a
``userTaskStatuses`` subscription.
"""

from __future__ import annotations

import asyncio
import json
import resource
import uuid
from typing import Any

import websockets
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.typing import Subprotocol

from bench.servers import free_port, rss_mib, start_server, stop, websocket_target

QUERY = "subscription { userTaskStatuses { name state } }"


async def _open(url: str, headers: dict[str, str], count: int, subscribe: bool) -> list[Any]:
    async def one(index: int) -> Any:
        ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      additional_headers=headers, open_timeout=60)  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        if subscribe:
            await ws.send(json.dumps({"id": str(index), "type": "subscribe", "payload": {"query": QUERY}}))
        return ws

    sockets = []
    for start in range(0, count, 100):  # connect in waves, as users arrive
        sockets += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 100))))
    return sockets


async def _settle(pid: int) -> float:
    """RSS once it stops moving (subscriptions join their groups in the background)."""
    last = -1.0
    for _ in range(20):
        await asyncio.sleep(0.5)
        now = rss_mib(pid)
        if abs(now - last) < 0.2:
            return now
        last = now
    return last


def _phase(cookie: str, count: int, subscribe: bool) -> tuple[float, float]:
    """A fresh server: its RSS with no sockets, then with ``count`` idle sockets."""
    port = free_port()
    server = start_server(port)

    async def measure() -> tuple[float, float]:
        url, headers = websocket_target(port, cookie)
        for ws in await _open(url, headers, 10, subscribe=True):  # load every code path once
            await ws.close()
        empty = await _settle(server.pid)
        sockets = await _open(url, headers, count, subscribe=subscribe)
        loaded = await _settle(server.pid)
        for ws in sockets:
            await ws.close()
        return empty, loaded

    try:
        return asyncio.run(measure())
    finally:
        stop(server)


def run(quick: bool = False) -> str:
    count = 200 if quick else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * count + 256)), hard))
    user = get_user_model().objects.create_user(f"idle-{uuid.uuid4().hex[:6]}")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    bare_empty, bare = _phase(cookie, count, subscribe=False)
    sub_empty, subscribed = _phase(cookie, count, subscribe=True)
    per_socket = (bare - bare_empty) * 1024 / count
    per_subscribed = (subscribed - sub_empty) * 1024 / count
    return "\n".join([
        f"### Server memory: {count:,} idle websockets on one uvicorn process (a fresh server for each row)",
        "",
        "| state | server RSS before, MiB | after, MiB | KiB per socket | ratio to a bare socket |",
        "|---|---|---|---|---|",
        f"| {count:,} sockets after connection_init (baseline) | {bare_empty:.1f} | {bare:.1f} | "
        f"{per_socket:.1f} | 1.00x |",
        f"| {count:,} sockets each with a `userTaskStatuses` subscription | {sub_empty:.1f} | {subscribed:.1f} | "
        f"{per_subscribed:.1f} | {per_subscribed / per_socket:.2f}x |",
    ])  # fmt: skip
