"""HTTP views: the GraphQL endpoint (behind Django's middleware, CSRF included), authorized file
downloads, and a CSRF refusal that GraphQL clients can read."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.http.response import HttpResponseBase
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from strawberry.django.views import AsyncGraphQLView
from strawberry.http import GraphQLRequestData
from strawberry.http.types import QueryParams
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from .core import conf
from .core.permissions import find_artifact
from .http_decoding import MalformedRequest, check_query_string, loads
from .schema.errors import (
    BAD_USER_INPUT,
    FORBIDDEN,
    INTERNAL_MESSAGE,
    INTERNAL_SERVER_ERROR,
    NOT_FOUND,
    UNAUTHENTICATED,
)

logger = logging.getLogger(__name__)

SUBSCRIPTIONS_OVER_HTTP = (
    "Subscriptions are served over the websocket at this URL (graphql-transport-ws or graphql-ws), not over HTTP."
)
_CODES = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}
_LEFT_TO_DJANGO = (Http404, PermissionDenied, SuspiciousOperation)  # each has Django's own response


def error_response(message: str, code: str, status: int) -> JsonResponse:
    """A GraphQL-shaped error body, so a client reads every refusal the way it reads the others."""
    error = {"message": message, "extensions": {"code": code}}
    return JsonResponse({"data": None, "errors": [error]}, status=status)


class GraphQLView(AsyncGraphQLView):
    """Strawberry's async Django view, with one safe JSON decoding (``http_decoding``) and every
    refusal answered as a GraphQL-shaped 4xx, never Django's HTML error page.

    Strawberry answers what it refuses with a ``text/plain`` ``HTTPException``; JSON it cannot
    decode in some other way (invalid UTF-8, an over-long integer, deep nesting) and anything
    unforeseen used to escape as an HTML 500, which nothing logs when ``DEBUG`` is off."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        try:
            if request.method == "GET":
                check_query_string(request.META.get("QUERY_STRING", ""))
            return await self.run(request=request)
        except MalformedRequest as exc:
            return error_response(str(exc), BAD_USER_INPUT, 400)
        except HTTPException as exc:
            return _refusal(exc)
        except RequestDataTooBig:
            return error_response("The request body is too large.", BAD_USER_INPUT, 400)
        except TooManyFieldsSent:
            return error_response("The query string has too many parameters.", BAD_USER_INPUT, 400)
        except _LEFT_TO_DJANGO:
            raise
        except Exception:
            logger.exception("Unexpected error serving a GraphQL request")
            return error_response(INTERNAL_MESSAGE, INTERNAL_SERVER_ERROR, 500)

    def parse_json(self, data: str | bytes) -> Any:
        """The request body: a JSON object (or, where batching is on, a list of them)."""
        parsed = loads(data)
        operations = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(operation, dict) for operation in operations):
            raise MalformedRequest("The request body must be a JSON object.")
        return parsed

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET request's parameters, its ``variables`` and ``extensions`` decoded as JSON."""
        decoded: dict[str, Any] = dict(params)
        for name in ("variables", "extensions"):
            if decoded.get(name):
                decoded[name] = loads(decoded[name], f"The `{name}` parameter")
        return decoded

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        parsed = await super().parse_http_body(request)
        for operation in parsed if isinstance(parsed, list) else [parsed]:
            _check_types(operation)
        return parsed


def _check_types(operation: GraphQLRequestData) -> None:
    """What Strawberry does not check itself: ``operationName``, and each operation of a batch."""
    if not isinstance(operation.query, str | None):
        raise MalformedRequest("`query` must be a string or null.")
    if not isinstance(operation.operation_name, str | None):
        raise MalformedRequest("`operationName` must be a string or null.")
    for name, value in (("variables", operation.variables), ("extensions", operation.extensions)):
        if not isinstance(value, dict | None):
            raise MalformedRequest(f"`{name}` must be an object or null.")


def _refusal(exc: HTTPException) -> JsonResponse:
    cause = exc.__cause__
    over_http = isinstance(cause, InvalidOperationTypeError) and cause.operation_type is OperationType.SUBSCRIPTION
    response = error_response(
        SUBSCRIPTIONS_OVER_HTTP if over_http else exc.reason,
        _CODES.get(exc.status_code, BAD_USER_INPUT),
        exc.status_code,
    )
    if exc.status_code == 405:
        response["Allow"] = "GET, POST"
    return response


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


@ensure_csrf_cookie
@require_GET
def csrf_cookie(request: HttpRequest) -> HttpResponse:
    """204 with the ``csrftoken`` cookie set: what a SPA served from another page calls once
    before its first POST (a Django page can use ``{% csrf_token %}`` or ``ensure_csrf_cookie``)."""
    return HttpResponse(status=204)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a GraphQL-shaped 403 for GraphQL requests, Django's page otherwise."""
    if "application/json" in request.headers.get("Accept", "") or request.path.rstrip("/").endswith("graphql"):
        return error_response(f"CSRF verification failed: {reason}", FORBIDDEN, 403)
    return django_csrf_failure(request, reason=reason)


__all__ = ["artifact_file", "csrf_cookie", "csrf_failure", "error_response", "graphql_view"]
