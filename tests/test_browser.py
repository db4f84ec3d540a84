"""The HTML report in a real browser: Debian's headless Chromium, driven over the Chrome
DevTools Protocol on ``--remote-debugging-pipe`` (file descriptors 3 and 4, JSON messages
separated by NUL bytes), so no websocket client is needed.

It proves what a static scan cannot: the page loads nothing from any origin but the file
itself, logs no console error or exception, draws every chart it announces with its data
marks laid out on screen, and the curve selector works. It saves a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, ChainRun

from pijler3.report import files as report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A guard against a browser that hangs, not a performance limit.
HANG_GUARD_S = 120.0

pytestmark = pytest.mark.slow


class Browser:
    """A minimal CDP client over the pipe transport of headless Chromium."""

    def __init__(self, profile: Path) -> None:
        if not os.path.exists(CHROMIUM):
            pytest.fail(
                f"headless Chromium is needed for this test and was not found at {CHROMIUM}; "
                "install it with `make sysdeps` (Debian package 'chromium')."
            )
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:
            # Chromium reads commands from fd 3 and writes replies to fd 4. Copy both
            # ends above 4 first, so that neither is overwritten by the other's dup2.
            reader, writer = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "--window-size=1280,900",
                "about:blank",
            ],
            # preexec_fn is safe here: the test process does not run threads.
            preexec_fn=wire_fds,
            # Keep 3 and 4 open in the child: close_fds runs after preexec_fn.
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        message = {"id": ident, "method": method, "params": params or {}, **kw}
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


class Page:
    """The browser's one page, attached over a flat session, at a given window size."""

    def __init__(self, browser: Browser, width: int = 1280, height: int = 900) -> None:
        self.browser = browser
        (target,) = [
            t
            for t in browser.send("Target.getTargets")["targetInfos"]
            if t["type"] == "page" and t["url"] == "about:blank"
        ]
        session = browser.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.sid = session["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable", sessionId=self.sid)
        self.resize(width, height)

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, sessionId=self.sid)

    def resize(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def open(self, url: str) -> None:
        self.browser.events.clear()
        self.send("Page.navigate", {"url": url})
        self.browser.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """A script's JSON result (the script returns ``JSON.stringify(...)``)."""
        return json.loads(
            self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})[
                "result"
            ]["value"]
        )

    def screenshot(self, path: Path, clip: dict[str, float] | None = None) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def print_pdf(self) -> bytes:
        """The page printed as Chromium prints it (its own @page size and margins)."""
        reply = self.send(
            "Page.printToPDF",
            {"preferCSSPageSize": True, "printBackground": True, "displayHeaderFooter": False},
        )
        return base64.b64decode(reply["data"])


INSPECT = """
(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const marks = [...svg.querySelectorAll('[data-value]')];
    const box = svg.getBoundingClientRect();
    const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
    return {
      id: svg.id,
      declared: Number(svg.dataset.marks),
      marks: marks.length,
      numeric: marks.every(m => Number.isFinite(Number(m.dataset.value))),
      shown: box.width > 0 && box.height > 0,
      drawn: drawn.length,
      titled: !!svg.querySelector('title') && !!svg.querySelector('desc'),
    };
  });
  return JSON.stringify({
    lang: document.documentElement.lang,
    announced: Number(document.body.dataset.charts),
    js: document.documentElement.classList.contains('js'),
    charts: charts,
  });
})()
"""

SELECT_GESLACHT = """
(() => {
  const select = document.getElementById('km-choice');
  select.value = 'geslacht';
  select.dispatchEvent(new Event('change'));
  const visible = b => {
    const p = document.querySelector('.km-panel[data-breakdown="' + b + '"]');
    return p.getBoundingClientRect().height > 0;
  };
  return JSON.stringify({geslacht: visible('geslacht'), regio: visible('regio'),
                         totaal: visible('totaal')});
})()
"""


def test_report_in_headless_chromium(chain: ChainRun, browser: Browser, tmp_path: Path) -> None:
    """Zero requests to any other origin, no console errors, every announced chart drawn
    with its data, a working curve selector; the screenshot is saved for people."""
    result = report.write_report(chain.spaces["abb-1"], tmp_path / "report", now=NOW)
    url = result.html.resolve().as_uri()

    (target,) = [
        t
        for t in browser.send("Target.getTargets")["targetInfos"]
        if t["type"] == "page" and t["url"] == "about:blank"
    ]
    session = browser.send(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
    )
    sid = session["sessionId"]
    for domain in ("Network", "Runtime", "Log", "Page"):
        browser.send(f"{domain}.enable", sessionId=sid)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        sessionId=sid,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, sessionId=sid)
    browser.wait_for("Page.loadEventFired")

    state = json.loads(
        browser.send(
            "Runtime.evaluate", {"expression": INSPECT, "returnByValue": True}, sessionId=sid
        )["result"]["value"]
    )
    shot = browser.send(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, sessionId=sid
    )
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    print(f"screenshot: {screenshot}")
    selector = json.loads(
        browser.send(
            "Runtime.evaluate",
            {"expression": SELECT_GESLACHT, "returnByValue": True},
            sessionId=sid,
        )["result"]["value"]
    )

    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested, "the navigation itself must be seen"
    assert [u for u in requested if not u.startswith(("file:", "data:"))] == []
    errors = [
        e
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == []

    assert state["lang"] == "nl-BE"
    assert state["js"]
    charts = state["charts"]
    assert len(charts) == state["announced"] > 20
    for chart in charts:
        assert chart["titled"], chart["id"]
        assert chart["marks"] == chart["declared"] > 0, chart["id"]
        assert chart["numeric"], chart["id"]
        if chart["shown"]:
            assert chart["drawn"] > 0, chart["id"]
    shown = [c for c in charts if c["shown"]]
    assert len(shown) > len(charts) / 2
    assert selector == {"geslacht": True, "regio": False, "totaal": True}
    assert screenshot.stat().st_size > 50_000
