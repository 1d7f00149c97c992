"""The page that serves the SPA (and sets the CSRF cookie it sends back with every mutation)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

DIST = Path(__file__).resolve().parents[1] / "frontend" / "dist"


def _assets() -> dict[str, list[str]]:
    """The built entry's scripts and styles, from Vite's manifest (empty before `npm run build`)."""
    manifest = DIST / ".vite" / "manifest.json"
    if not manifest.exists():
        return {"scripts": [], "styles": []}
    entry = next(chunk for chunk in json.loads(manifest.read_text()).values() if chunk.get("isEntry"))
    return {"scripts": [entry["file"]], "styles": list(entry.get("css", []))}


@login_required
@ensure_csrf_cookie
def spa(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/spa.html", {"assets": _assets(), "username": request.user.get_username()})
