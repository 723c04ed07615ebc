"""The browser client: one app shell for every page, its assets, and the service worker."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from companion import WEBUI_PATH

web = Blueprint("web", __name__)

# Paths the client-side router draws; the server answers each with the same shell.
SHELL_ROUTES = ["/", "/login", "/invite", "/home", "/crisis", "/sessions"]


def shell() -> str:
    """The app shell; crisis lines are rendered in it so they work with no script and offline."""
    return render_template("index.html", crisis=current_app.config["CRISIS_RESOURCES"])


for _path in SHELL_ROUTES:
    web.add_url_rule(_path, f"shell{_path.replace('/', '_')}", shell)


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
