"""A GraphQL client over Django's test client: real URLconf, middleware and CSRF."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client

STATUS_FIELDS = """
  id uuid taskId taskClass name state stateText completedSteps totalSteps percentComplete attempts
  isContainer isFinished created modified
"""
ARTIFACT_FIELDS = "id uuid name text url fileUrl created modified"


@dataclass
class Result:
    status_code: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code") for error in self.errors]


def gql(client: Client, query: str, variables: dict[str, Any] | None = None, **headers: Any) -> Result:
    response = client.post(
        "/graphql/",
        json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        **headers,
    )
    try:
        body = response.json()
    except ValueError:
        body = {"raw": response.content.decode(errors="replace")}
    return Result(response.status_code, body)
