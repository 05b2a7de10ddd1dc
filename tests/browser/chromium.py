"""Driving headless Chromium (Debian's ``chromium``) over the DevTools protocol, as a person uses a page.

One browser process per test session (``--remote-debugging-port=0``; the port is read from
``DevToolsActivePort`` in its profile directory), one page. :class:`Page` navigates, waits with a deadline
until text is rendered (the Prefect UI is a single-page app that fetches after load), clicks, reads the
rendered text (``document.body.innerText``: what is on screen, not the API) and takes screenshots.
The process is stopped by PID.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.sync.connection import Connection

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1440,1800",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def chromium_binary() -> str:
    """The chromium executable; a clear error naming the package when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError(
            "chromium is not installed: the browser tests need it "
            "(run ./scripts/ensure-system-packages.sh as root, or apt-get install -y chromium)"
        )
    return found


class Page:
    """One browser tab, driven over its DevTools websocket."""

    def __init__(self, socket: Connection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._socket.recv(timeout=60))
            if reply.get("id") != message_id:
                continue
            if "error" in reply:
                raise RuntimeError(f"{method} failed: {reply['error']}")
            return dict(reply.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return (result.get("result") or {}).get("value")

    def open(self, url: str) -> None:
        """Navigate to ``url``."""
        self.call("Page.navigate", url=url)

    def text(self) -> str:
        """The rendered text of the page (what a person can read)."""
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def wait_for_text(self, *texts: str, timeout: float = 30.0) -> str:
        """The page's text once every one of ``texts`` is rendered; fails at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(wanted in text for wanted in texts):
                return text
            if time.monotonic() > deadline:
                missing = [wanted for wanted in texts if wanted not in text]
                raise AssertionError(f"never rendered {missing}; the page shows:\n{text[:4000]}")
            time.sleep(0.2)

    def click(self, selector: str, *, timeout: float = 30.0) -> None:
        """Click the element matching the CSS ``selector`` once it exists."""
        deadline = time.monotonic() + timeout
        script = (
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "if (!e) return false; e.click(); return true; })()"
        )
        while not self.evaluate(script):
            if time.monotonic() > deadline:
                raise AssertionError(f"no element {selector!r} on the page:\n{self.text()[:2000]}")
            time.sleep(0.2)

    def click_link(self, text: str, *, within: str = "body", timeout: float = 30.0) -> None:
        """Click the first link inside ``within`` whose rendered text contains ``text``."""
        script = (
            f"(() => {{ const links = document.querySelectorAll({json.dumps(within + ' a')}); "
            f"for (const a of links) {{ if (a.innerText.includes({json.dumps(text)})) "
            "{ a.click(); return true; } } "
            "return false; })()"
        )
        deadline = time.monotonic() + timeout
        while not self.evaluate(script):
            if time.monotonic() > deadline:
                raise AssertionError(f"no link with {text!r} in {within!r}:\n{self.text()[:2000]}")
            time.sleep(0.2)

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page to ``path``."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def chromium(profile: Path, *, startup_timeout: float = 60.0) -> Iterator[Page]:
    """Start headless Chromium with its profile in ``profile``; yield its page; stop it by PID."""
    active_port = profile / "DevToolsActivePort"
    process = subprocess.Popen(
        [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=(profile.parent / f"{profile.name}.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while not active_port.exists() or not active_port.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit {process.poll()}); see {profile.name}.log")
            time.sleep(0.1)
        port = int(active_port.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        with connect(page_url, max_size=None, open_timeout=30) as socket:
            page = Page(socket)
            page.call("Page.enable")
            page.call("Runtime.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
