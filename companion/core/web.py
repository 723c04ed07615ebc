"""The browser client: one app shell for every page, its assets, and the service worker."""

from __future__ import annotations

import functools
import hashlib

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory

from companion.core.config import WEBUI_PATH

web = Blueprint("web", __name__)

# sw.js names its cache with this placeholder; the served copy names it by the release.
SHELL_VERSION_PLACEHOLDER = "__SHELL_VERSION__"

@web.get("/")
@web.get("/<path:page>")
def shell(page: str = "") -> str:
    """The app shell for every page the client-side router draws (unknown API and asset paths
    are matched by their own, more specific routes first). Crisis lines are rendered into it so
    they work with no script and offline."""
    if page.startswith(("api/", "app/", "socket.io")):
        abort(404)
    return render_template("index.html", crisis=current_app.config["CRISIS_RESOURCES"])


@web.get("/app/<path:filename>")
def asset(filename: str) -> Response:
    response = send_from_directory(WEBUI_PATH / "app", filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # revalidate; the service worker keeps copies
    return response


@functools.cache
def shell_version() -> str:
    """A digest of every file of the browser client. A release that changes any of them serves
    a service worker that differs by this name, so browsers install it: it fetches the new
    shell and drops the old cache, instead of serving last release's code once more."""
    digest = hashlib.sha256()
    for path in sorted(p for p in WEBUI_PATH.rglob("*") if p.is_file()):
        digest.update(path.relative_to(WEBUI_PATH).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@web.get("/sw.js")
def service_worker() -> Response:
    source = (WEBUI_PATH / "sw.js").read_text(encoding="utf-8")
    response = Response(source.replace(SHELL_VERSION_PLACEHOLDER, shell_version()),
                        mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@web.get("/manifest.webmanifest")
def manifest() -> Response:
    return send_from_directory(
        WEBUI_PATH, "manifest.webmanifest", mimetype="application/manifest+json"
    )
