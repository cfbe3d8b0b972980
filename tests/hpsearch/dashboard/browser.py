"""A headless Chromium driven over the DevTools protocol (Tornado's WebSocket client): load a
page, collect its console errors and exceptions, evaluate expressions in it."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time

from tests.hpsearch.dashboard.processes import stop_tree

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """`async with Browser() as page: await page.open(url); await page.eval("1 + 1")`."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._next = 0
        self._waiting: dict[int, asyncio.Future] = {}

    async def __aenter__(self) -> Browser:
        from tornado.httpclient import AsyncHTTPClient
        from tornado.websocket import websocket_connect

        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self._process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self._profile.name}", "about:blank"],
            stderr=subprocess.PIPE, text=True)
        address = None
        deadline = time.monotonic() + 60
        while address is None and time.monotonic() < deadline:
            line = await asyncio.get_running_loop().run_in_executor(
                None, self._process.stderr.readline)
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            address = found.group(1) if found else None
        assert address, "Chromium did not start its DevTools endpoint"
        targets = await AsyncHTTPClient().fetch(f"http://{address}/json/list")
        page = next(t for t in json.loads(targets.body) if t["type"] == "page")
        self._socket = await websocket_connect(page["webSocketDebuggerUrl"],
                                               max_message_size=1 << 26)
        self._reader = asyncio.ensure_future(self._read())
        for domain in ("Runtime", "Log", "Page"):
            await self.call(f"{domain}.enable")
        return self

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        self._socket.close()
        stop_tree(self._process)  # Chromium and its renderers, by pid
        self._profile.cleanup()

    async def _read(self) -> None:
        while True:
            message = await self._socket.read_message()
            if message is None:
                return
            body = json.loads(message)
            if "id" in body and body["id"] in self._waiting:
                self._waiting.pop(body["id"]).set_result(body)
            elif body.get("method") == "Runtime.exceptionThrown":
                self.errors.append(json.dumps(body["params"]["exceptionDetails"])[:500])
            elif body.get("method") == "Runtime.consoleAPICalled" and \
                    body["params"]["type"] in ("error", "warning", "assert"):
                self.errors.append(json.dumps(body["params"]["args"])[:500])
            elif body.get("method") == "Log.entryAdded" and \
                    body["params"]["entry"]["level"] in ("error", "warning"):
                self.errors.append(body["params"]["entry"].get("text", "")[:500])

    async def call(self, method: str, **params) -> dict:
        self._next += 1
        future = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        await self._socket.write_message(json.dumps({"id": self._next, "method": method,
                                                     "params": params}))
        answer = await asyncio.wait_for(future, timeout=60)
        assert "error" not in answer, answer
        return answer["result"]

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def eval(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float) -> float:
        """Seconds until `expression` is truthy in the page (AssertionError after timeout)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if await self.eval(expression):
                return time.monotonic() - start
            await asyncio.sleep(0.1)
        state = await self.eval("[document.documentElement.getAttribute('data-updates'), "
                                "document.documentElement.getAttribute('data-errors')]")
        raise AssertionError(f"not true after {timeout} s: {expression} (page: {state}; "
                             f"console: {self.errors})")
