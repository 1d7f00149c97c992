"""Clients of the list benchmark (``list_replay.py``): a list subscription read until ``SYNCED``, the
list query paged over HTTP as a reloading client does, and processes of live list subscribers.

Live subscribers run in ``spawn`` processes of their own (``clients.CONTEXT``), each holding sockets
of both list subscriptions in turn, so that neither kind is always served first.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from bench.clients import CONNECT_WAVE

FIELDS = "id uuid name state stateText percentComplete seq created"
CHANGES = (
    "subscription($since: String) { userTaskStatusChanges(since: $since) "
    f"{{ kind watermark deletedUuid status {{ {FIELDS} }} }} }}"
)
LIVE = {
    "old": f"subscription {{ userTaskStatuses {{ {FIELDS} modified }} }}",
    "new": f"subscription {{ userTaskStatusChanges {{ kind watermark deletedUuid status {{ {FIELDS} modified }} }} }}",
}
PAGE = (
    "query($after: String) { userTaskStatuses(first: 100, after: $after) { %s"
    f"pageInfo {{ endCursor hasNextPage }} edges {{ node {{ {FIELDS} }} }} }} }}"
)


async def connect(url: str, headers: dict[str, str]) -> ClientConnection:
    """A graphql-transport-ws socket past ``connection_ack`` (no client pings, as browsers)."""
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], additional_headers=headers,
                                  open_timeout=60, ping_interval=None, close_timeout=2, max_size=None)  # fmt: skip
    await ws.send(json.dumps({"type": "connection_init"}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    return ws


async def until_synced(ws: ClientConnection, operation: str, since: str | None) -> tuple[float, int, int]:
    """Subscribe to the list's changes from ``since`` and read until ``SYNCED``, then complete:
    seconds from sending ``subscribe`` to ``SYNCED``, and the CHANGED and DELETED messages before it."""
    payload = {"query": CHANGES, "variables": {"since": since}}
    started = time.perf_counter()
    await ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))
    counts = {"CHANGED": 0, "DELETED": 0}
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message.get("id") != operation:
            continue  # the end of an earlier operation
        if message["type"] != "next" or "errors" in message["payload"]:
            raise RuntimeError(f"unexpected message: {str(message)[:300]}")
        kind = message["payload"]["data"]["userTaskStatusChanges"]["kind"]
        if kind == "SYNCED":
            elapsed = time.perf_counter() - started
            await ws.send(json.dumps({"id": operation, "type": "complete"}))
            return elapsed, counts["CHANGED"], counts["DELETED"]
        counts[kind] += 1


class Pages:
    """The list query over HTTP as a single-page app sends it: POST with the session and CSRF
    cookies, one keep-alive connection, a page of 100 after the previous page's cursor."""

    def __init__(self, port: int, cookie: str) -> None:
        token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{port}/graphql/"
        self.session = requests.Session()
        self.session.headers.update({"Origin": f"http://127.0.0.1:{port}", "X-CSRFToken": token,
                                     "Cookie": f"csrftoken={token}; sessionid={cookie}"})  # fmt: skip

    def page(self, after: str | None, watermark: bool) -> dict[str, Any]:
        query = PAGE % ("watermark " if watermark else "")
        response = self.session.post(self.url, json={"query": query, "variables": {"after": after}}, timeout=60)
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"list query failed: {response.status_code} {str(body)[:300]}")
        return dict(body["data"]["userTaskStatuses"])

    def watermark(self) -> str:
        return str(self.page(None, watermark=True)["watermark"])

    def reload(self, rows: int) -> int:
        """The first ``rows`` statuses (the first page with the watermark): the rows received."""
        received, after = 0, None
        while received < rows:
            page = self.page(after, watermark=after is None)
            received += len(page["edges"])
            after = page["pageInfo"]["endCursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        return received


@dataclass
class Socket:
    """What one live subscriber saw: (receipt time, the status's ``modified`` as a timestamp, state)."""

    kind: str
    synced: float = math.nan  # seconds from subscribe to the first SYNCED (the new subscription)
    events: list[tuple[float, float, str]] = field(default_factory=list)
    later_synced: int = 0  # SYNCED messages after the first (the watermark moving on)
    finished: bool = False  # received the SUCCEEDED state
    problem: str = ""


async def _live(url: str, headers: dict[str, str], query: str, socket: Socket, subscribed: asyncio.Event) -> None:
    try:
        ws = await connect(url, headers)
    except Exception as exc:
        socket.problem = f"could not connect: {exc!r}"[:200]
        subscribed.set()
        return
    try:
        started = time.perf_counter()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        if socket.kind == "old":
            subscribed.set()  # no confirmation: the warm-up writes show when it listens
        async for raw in ws:
            received = time.time()
            message = json.loads(raw)
            if message["type"] != "next" or "errors" in message["payload"]:
                socket.problem = f"unexpected message: {str(raw)[:200]}"
                return
            data = message["payload"]["data"]
            node = data["userTaskStatuses"] if socket.kind == "old" else data["userTaskStatusChanges"]["status"]
            if node is None:  # SYNCED
                if subscribed.is_set():
                    socket.later_synced += 1
                else:
                    socket.synced = time.perf_counter() - started
                    subscribed.set()
                continue
            socket.events.append((received, datetime.fromisoformat(node["modified"]).timestamp(), node["state"]))
            socket.finished = socket.finished or node["state"] == "SUCCEEDED"
    except websockets.ConnectionClosed as exc:
        socket.problem = f"socket closed, code {exc.rcvd.code if exc.rcvd else 'none'}"
    finally:
        subscribed.set()
        await ws.close()


def live_main(url: str, headers: dict[str, str], kinds: list[str], queries: dict[str, str], replies: Any,
              done: Any) -> None:  # fmt: skip
    """A live subscriber per entry of ``kinds``, sending ``queries[kind]``: puts ("subscribed", n)
    once every subscription is sent (and confirmed, where it says so), ("ready", n) once each
    received a status, then ("sockets", [Socket]) once each received the SUCCEEDED state or
    ``done`` was set."""

    async def main() -> None:
        sockets = [Socket(kind) for kind in kinds]
        flags = [asyncio.Event() for _ in kinds]
        tasks = []
        for start in range(0, len(kinds), CONNECT_WAVE):
            wave = range(start, min(len(kinds), start + CONNECT_WAVE))
            tasks += [asyncio.create_task(_live(url, headers, queries[kinds[i]], sockets[i], flags[i])) for i in wave]
            await asyncio.gather(*(flags[i].wait() for i in wave))
        replies.put(("subscribed", len(kinds)))
        while not all(s.events or s.problem for s in sockets) and not done.is_set():
            await asyncio.sleep(0.02)
        replies.put(("ready", len(kinds)))
        while not all(s.finished or s.problem for s in sockets) and not done.is_set():
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        replies.put(("sockets", sockets))

    asyncio.run(main())
