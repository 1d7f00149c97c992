"""The broker's Redis killed (SIGKILL) under a running task and started again 3 s later, all its
data gone, with one Redis as broker, result backend and channel layer (docs/operations.md,
"Broker restarts").

What must hold, with and without ``acks_late``: the worker process lives on and consumes again,
the running task ends Succeeded, a task sent after the restart succeeds and a websocket
subscriber of the server hears it, and the worker never logs "Unrecoverable error" (Celery 5.7
did, then exited, when a task's message was unacknowledged: user_tasks_graphql/kombu_redis.py).
Without ``acks_late`` the message is acknowledged before the kill, so that case never crashed:
it checks that the fix keeps it working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from kombu import Connection
from kombu.transport import redis as kombu_redis

from example_site.celery import app as celery_app
from tests.integration.conftest import (
    PrivateRedis,
    Server,
    Worker,
    session_cookie,
    wait_for,
)
from tests.reliability.wsclient import Socket
from tests.testapp import tasks
from user_tasks_graphql.adapters import kombu_redis as adapter
from user_tasks_graphql.models import UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state completedSteps } }"
RUNNING_SECONDS = 10.0  # the running task outlives the outage: it ends with Redis back
OUTAGE_SECONDS = 3.0
STEPS, STEP_SECONDS = 4, 0.5  # the task sent after the restart runs long enough to be followed live


def send(redis: PrivateRedis, task: Any, *args: Any, **kwargs: Any) -> UserTaskStatus:
    """Publish to the private Redis (this process's own broker is the suite's Redis)."""
    with celery_app.connection_for_write(redis.url) as connection:
        result = task.apply_async(args, kwargs, connection=connection)
    return UserTaskStatus.objects.get(task_id=result.id)


def state_of(status: UserTaskStatus) -> str:
    return UserTaskStatus.objects.get(pk=status.pk).state


def reconnected(worker: Worker) -> bool:
    log = worker.output()
    assert worker.process.poll() is None, f"the worker exited:\n{log[log.find('Connection to broker lost') :][:3000]}"
    return log.count("Connected to ") >= 2


def follow_until_final(server: Server, cookie: str, status: UserTaskStatus) -> list[dict[str, Any]]:
    """What a subscriber of ``status`` receives, from its snapshot to its Succeeded state."""
    seen = []
    with Socket(server, cookie) as socket:
        socket.init()
        socket.subscribe("1", QUERY, {"u": str(status.uuid)})
        deadline = time.monotonic() + 30
        while not seen or seen[-1]["state"] != "SUCCEEDED":
            payload = socket.next_payload("1", timeout=max(deadline - time.monotonic(), 0.1))
            assert "errors" not in payload, payload
            seen.append(payload["data"]["userTaskStatus"])
    return seen


@pytest.mark.parametrize("acks_late", [True, False], ids=["acks-late", "acks-early"])
def test_worker_survives_a_broker_restart_under_a_running_task(
    acks_late: bool,
    layer_redis: PrivateRedis,
    start_worker: Callable[..., Worker],
    start_server: Callable[..., Server],
):
    redis = layer_redis  # the broker, the results and the channel layer, in its databases 0 and 1
    env = {"TEST_CELERY_BROKER_URL": redis.url, "TEST_CELERY_RESULT_BACKEND": redis.url,
           "TEST_CHANNEL_REDIS_URL": redis.url[:-1] + "1", "TEST_CELERY_ACKS_LATE": "1" if acks_late else "0",
           "TEST_USER_TASKS_PUBLISH_RETRY_AFTER": "0.5"}  # fmt: skip
    worker = start_worker(concurrency=2, **env)  # a free child: the consumer has a BRPOP pending
    server = start_server(**env)
    user = get_user_model().objects.create_user("broker-restart")
    cookie = session_cookie(user)

    running = send(redis, tasks.sleeping_task, user.id, "running", seconds=RUNNING_SECONDS)
    wait_for(lambda: state_of(running) == "In Progress", 30, "the task to start")
    redis.kill()
    wait_for(lambda: "Connection to broker lost" in worker.output(), 10, "the worker to notice")
    time.sleep(OUTAGE_SECONDS)
    redis.start()
    wait_for(lambda: reconnected(worker), 30, "the worker to reconnect")

    wait_for(lambda: state_of(running) == "Succeeded", RUNNING_SECONDS + 30, "the running task to succeed")
    after = send(redis, tasks.progress_task, user.id, "after", step_seconds=STEP_SECONDS, total_steps=STEPS)
    seen = follow_until_final(server, cookie, after)
    assert seen[-1] == {"state": "SUCCEEDED", "completedSteps": STEPS}
    assert len(seen) > 1, f"the final state came as a live event, not only in the snapshot: {seen}"

    log = worker.output()
    assert worker.process.poll() is None, log[-4000:]
    assert "Unrecoverable error" not in log, log[-4000:]
    assert "Couldn't ack" not in log, "the running task's late acknowledgement reaches the restarted Redis"
    assert UserTaskStatus.objects.get(pk=running.pk).state == "Succeeded"
    assert server.process.poll() is None


def test_a_detached_channel_still_reaches_redis(layer_redis: PrivateRedis):
    """The mechanism, in process: ``Connection.collect()`` detaches the transport; kombu's own
    channel can then not build a pool (what killed the worker), the adapter's still can.

    If kombu's half starts failing here, kombu no longer needs the adapter: see its docstring.
    """
    outcomes = {}
    for transport in (kombu_redis.Transport, adapter.Transport):
        with Connection(layer_redis.url, transport=transport) as connection:
            channel = connection.default_channel
            with channel.conn_or_acquire() as client:  # what acknowledging a message uses
                assert client.ping()
            connection.collect()
            try:
                with channel.conn_or_acquire() as client:
                    outcomes[transport] = client.ping()
            except AttributeError as exc:
                outcomes[transport] = exc
    assert isinstance(outcomes[kombu_redis.Transport], AttributeError)
    assert outcomes[adapter.Transport] is True
