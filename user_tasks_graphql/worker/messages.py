"""Read a Celery task message (protocol 1 or 2) into one shape, as ``before_task_publish`` sees it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskMessage:
    """What the status rows need from one published task message."""

    task_id: str
    task_name: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    group_id: str | None = None
    chain: list[Mapping[str, Any]] = field(default_factory=list)
    """The signatures that run after this task, in order (a chain's remaining steps)."""
    chord_body: Mapping[str, Any] | None = None
    retries: int = 0
    """How many times this task id ran before (a retry is published with the same id)."""


def parse_message(sender: str, body: Any, headers: Mapping[str, Any] | None) -> TaskMessage:
    """Protocol 2 keeps ids in the headers and ``(args, kwargs, embed)`` in the body; protocol 1 a dict."""
    headers = headers or {}
    if isinstance(body, list | tuple):
        args, kwargs, embed = body
        embed = embed or {}
        # protocol 2 lists the remaining chain steps last-first
        chain = list(reversed(embed.get("chain") or []))
        return TaskMessage(
            task_id=headers["id"],
            task_name=headers.get("task") or sender,
            args=args or (),
            kwargs=kwargs or {},
            group_id=headers.get("group"),
            chain=chain,
            chord_body=embed.get("chord"),
            retries=int(headers.get("retries") or 0),
        )
    return TaskMessage(
        task_id=body["id"],
        task_name=body.get("task") or sender,
        args=body.get("args") or (),
        kwargs=body.get("kwargs") or {},
        group_id=body.get("taskset") or body.get("group"),
        chain=_linked_steps(body.get("callbacks")),
        chord_body=body.get("chord"),
        retries=int(body.get("retries") or 0),
    )


def _linked_steps(callbacks: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    """Protocol 1 encodes a chain as nested ``link`` callbacks: flatten the first of each."""
    steps: list[Mapping[str, Any]] = []
    while callbacks:
        step = callbacks[0]
        steps.append(step)
        callbacks = (step.get("options") or {}).get("link")
    return steps
