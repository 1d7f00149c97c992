"""`make demo` from a clean copy of the repository: embedded mode, nothing but Python and npm."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import websockets
from websockets.typing import Subprotocol

from .conftest import REPO, free_port

pytestmark = pytest.mark.integration


def clean_copy(target: Path) -> Path:
    """The files git tracks, with their times (so make reuses the project's installed venv)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()  # fmt: skip
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def log_in(base: str) -> tuple[urllib.request.OpenerDirector, dict[str, str]]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"username": "demo", "password": "demo", "csrfmiddlewaretoken": csrf}).encode()
    opener.open(urllib.request.Request(f"{base}/accounts/login/", data=form,
                                       headers={"Referer": f"{base}/accounts/login/"})).read()  # fmt: skip
    return opener, {c.name: c.value for c in jar}


async def finished_state(base: str, cookies: dict[str, str], status_uuid: str) -> list[dict]:
    url = base.replace("http", "ws") + "/graphql/"
    headers = {"Origin": base, "Cookie": f"sessionid={cookies['sessionid']}"}
    query = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state completedSteps } }"
    states = []
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                  additional_headers=headers) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "variables": {"u": status_uuid}}}))  # fmt: skip
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "complete":
                return states
            states.append(message["payload"]["data"]["userTaskStatus"])
    return states


def test_make_demo_serves_live_tasks(tmp_path: Path):
    copy = clean_copy(tmp_path / "repo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        demo = subprocess.Popen(["make", "demo", f"VENV={REPO / '.venv'}", f"DEMO_PORT={port}"], cwd=copy, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while "Application startup complete" not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "make demo did not start in 4 minutes"
            time.sleep(0.5)
        output = log.read_text(errors="replace")
        assert "Demo login: username 'demo', password 'demo'" in output
        opener, cookies = log_in(base)
        page = opener.open(f"{base}/").read().decode()
        assert re.search(r'<script type="module" src="/static/assets/main-[\w-]+\.js">', page), "the SPA is served"
        body = json.dumps({"query": "mutation { startDemoTask(steps: 3, stepSeconds: 0.1) { uuid state } }"}).encode()
        request = urllib.request.Request(
            f"{base}/graphql/",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRFToken": cookies["csrftoken"], "Referer": f"{base}/"},
        )
        started = json.loads(opener.open(request).read())["data"]["startDemoTask"]
        states = asyncio.run(asyncio.wait_for(finished_state(base, cookies, started["uuid"]), 30))
        assert states[-1] == {"state": "SUCCEEDED", "completedSteps": 3}
        assert (copy / "example_site.sqlite3").exists(), "embedded mode keeps its data in SQLite"
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=20)
