"""HTTP views: the GraphQL endpoint (behind Django's middleware, CSRF included), authorized file
downloads, and a CSRF refusal that GraphQL clients can read."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from cross_web import HTTPException
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.http.response import HttpResponseBase
from django.views.csrf import csrf_failure as django_csrf_failure
from strawberry.django.views import AsyncGraphQLView

from .core import conf
from .core.permissions import find_artifact


class GraphQLView(AsyncGraphQLView):
    """Strawberry's async Django view, refusing JSON bodies that are not objects with a 400."""

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed


def graphql_view(schema: Any) -> Callable[..., Any]:
    """The async GraphQL view for ``schema``; GraphiQL only where introspection is allowed."""
    ide = "graphiql" if conf.graphiql() else None
    return GraphQLView.as_view(schema=schema, graphql_ide=ide, allow_queries_via_get=True)


def artifact_file(request: HttpRequest, uuid: uuid.UUID) -> HttpResponseBase:
    """Stream an artifact's file to a viewer allowed to see it (404 for anyone else)."""
    user = request.user
    if not user.is_authenticated:
        return HttpResponseForbidden("Log in to download task artifacts.")
    artifact = find_artifact(user, uuid)
    if artifact is None or not artifact.file or not artifact.file.name:
        raise Http404("No such artifact file.")
    return FileResponse(artifact.file.open("rb"), as_attachment=True, filename=os.path.basename(artifact.file.name))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a GraphQL-shaped 403 for GraphQL requests, Django's page otherwise."""
    if "application/json" in request.headers.get("Accept", "") or request.path.rstrip("/").endswith("graphql"):
        error = {"message": f"CSRF verification failed: {reason}", "extensions": {"code": "FORBIDDEN"}}
        return JsonResponse({"data": None, "errors": [error]}, status=403)
    return django_csrf_failure(request, reason=reason)


__all__ = ["artifact_file", "csrf_failure", "graphql_view"]
