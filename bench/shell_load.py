"""How heavy is the client shell, and how soon is it usable at the end of a rural road?

Measures (1) the compressed size of every JavaScript file the service worker caches as the
shell (gzip -9, what a server or proxy would send), against the 150 KB budget; (2) in headless
Chromium with network emulation (400 kbps down and up, 400 ms latency, cold cache), the time
until the login form can be typed into, and until a client's home page is drawn after logging
in; each against a reference measured in the same run under the same emulation: a bare HTML
page served by the same server (the floor any page pays on that link).

Run: .venv/bin/python bench/shell_load.py   (starts its own server on a free port)
"""

from __future__ import annotations

import gzip
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

BUDGET_KB = 150
RUNS = 3
LINK = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}


def shell_js_sizes() -> list[tuple[str, int, int]]:
    """(path, raw bytes, gzip bytes) of each JavaScript file in the service worker's SHELL."""
    sw = (ROOT / "webui" / "sw.js").read_text()
    shell = re.search(r"const SHELL = \[(.*?)\];", sw, re.S)
    assert shell, "SHELL list not found in webui/sw.js"
    out = []
    for path in re.findall(r"'([^']+\.js)'", shell.group(1)):
        data = (ROOT / "webui" / path.removeprefix("/")).read_bytes()
        out.append((path, len(data), len(gzip.compress(data, 9))))
    return out


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {"COMPANION_INSTANCE_PATH": str(tmp), "PATH": "/usr/bin:/bin",
           "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "companion", "serve", "--port", str(port),
                             "--media-workers", "0"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def timed_loads(url: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {"reference": [], "login_usable": [], "home_drawn": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(RUNS):
            for key in ("reference", "login_usable"):
                context = browser.new_context(viewport={"width": 360, "height": 740},
                                              service_workers="block")
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", LINK)
                start = time.perf_counter()
                if key == "reference":
                    page.goto(f"{url}/app/icons/icon.svg")  # one small file: the link's floor
                else:
                    page.goto(f"{url}/login")
                    page.get_by_label("Email").wait_for(state="visible")
                    page.get_by_label("Email").fill("client6@demo.test")
                results[key].append(time.perf_counter() - start)
                if key == "login_usable":
                    page.get_by_label("Password").fill("recovery-demo")
                    start = time.perf_counter()
                    page.get_by_role("button", name="Log in").click()
                    page.get_by_role("heading", name="Hello, Morgan").wait_for()
                    results["home_drawn"].append(time.perf_counter() - start)
                context.close()
        browser.close()
    return results


def main() -> None:
    sizes = shell_js_sizes()
    total_gz = sum(gz for _, _, gz in sizes)
    print(f"client shell JavaScript: {len(sizes)} files, "
          f"{sum(r for _, r, _ in sizes) / 1024:.1f} KB raw, {total_gz / 1024:.1f} KB gzip "
          f"(budget {BUDGET_KB} KB: {total_gz / 1024 / BUDGET_KB:.0%} of it)")
    for path, raw, gz in sorted(sizes, key=lambda s: -s[2]):
        print(f"  {gz / 1024:6.1f} KB gzip  {raw / 1024:6.1f} KB raw  {path}")
    if not shutil.which(CHROMIUM):
        print("chromium not installed: skipping the load timing")
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp))
        try:
            times = timed_loads(url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    ref = statistics.median(times["reference"])
    print(f"\n400 kbps / 400 ms link, cold cache, median of {RUNS} runs:")
    print(f"  reference (one small file)  {ref:.2f} s")
    labels = (("login_usable", "login form usable"), ("home_drawn", "home drawn after login"))
    for key, label in labels:
        med = statistics.median(times[key])
        print(f"  {label:<26}  {med:.2f} s  ({med / ref:.1f}x the reference; goal 3 s: "
              f"{'met' if med <= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
