"""The browser client: one app shell for every page, its assets, and the service worker."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory

from companion import WEBUI_PATH

web = Blueprint("web", __name__)



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


@web.get("/sw.js")
def service_worker() -> Response:
    response = send_from_directory(WEBUI_PATH, "sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@web.get("/manifest.webmanifest")
def manifest() -> Response:
    return send_from_directory(
        WEBUI_PATH, "manifest.webmanifest", mimetype="application/manifest+json"
    )
