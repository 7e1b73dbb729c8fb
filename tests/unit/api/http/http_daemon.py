"""Shared by the API tests: a running paper node, its API on 127.0.0.1 (an OS-chosen port).

The node runs the bundled paper config (temp data dir, fast replay) on an event loop in
a thread of its own (an anyio blocking portal), so tests are plain functions using real
sync clients (httpx, websockets) over TCP; `on_loop` runs a function on the node's loop.
One node per module: tests that trip the kill switch put it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from api.compose import build_node, load_daemon_config
from api.http import ApiServer
from engine.runtime.node import TradingNode

TOKEN = "test-token-7f3a"
T = TypeVar("T")


@dataclass
class Daemon:
    node: TradingNode
    server: ApiServer
    portal: BlockingPortal
    url: str

    def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        """Run a sync function on the node's loop (between two graph steps)."""
        async def call() -> T:
            return function(*args)
        return self.portal.call(call)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def start_daemon(data_dir: Path, **settings: str) -> Iterator[Daemon]:
    environ = {"TRADEBUS__RUNTIME__DATA_DIR": str(data_dir),
               "TRADEBUS__RUNTIME__RECORD": "false",
               "TRADEBUS__RUNTIME__SPEED": "3000",
               "TRADEBUS__RUNTIME__STATUS_INTERVAL_S": "3600",
               "TRADEBUS__API__PORT": "0", **settings}
    config, file = load_daemon_config(None, environ=environ)
    node = build_node(config, file=file, environ=environ)
    server = next(service.__self__ for service in node.services
                  if isinstance(getattr(service, "__self__", None), ApiServer))
    with start_blocking_portal(backend="asyncio") as portal:
        done = portal.start_task_soon(node.run)

        daemon = Daemon(node=node, server=server, portal=portal, url="")
        for _ in range(2000):  # start-up: recovery, reconciliation, then the services
            if daemon.on_loop(lambda: node.health().ready and server.port is not None):
                break
            time.sleep(0.01)
        daemon.url = server.url
        try:
            yield daemon
        finally:
            portal.call(_stop, node)
            assert done.result(timeout=30) == 0


async def _stop(node: TradingNode) -> None:
    node.request_stop()
