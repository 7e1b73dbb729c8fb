"""`ApiServer`: uvicorn serving the app on the daemon's own event loop, as a node service.

The node starts `run` in its task group once the runner runs and cancels it at
shutdown. uvicorn's `Server` is driven by its parts (`startup`, `main_loop`,
`shutdown`) rather than `serve()`: the daemon owns the signals (uvicorn would install
its own handlers) and the listening socket is bound here first, so a port in use is a
clear error instead of uvicorn's `sys.exit`.
"""

from __future__ import annotations

import logging
import socket
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import anyio
import uvicorn
from anyio.abc import TaskStatus

from api.http.app import create_app
from api.http.config import ApiConfig
from engine.config import Secret
from engine.runtime.node import TradingNode

__all__ = ("ApiServer",)

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 5.0


class _Server(uvicorn.Server):
    def capture_signals(self) -> AbstractContextManager[None]:
        return nullcontext()  # the daemon handles SIGINT/SIGTERM (api.cli.process)


class ApiServer:
    """Serve the API for one node, from its start until its shutdown.

    Args:
        config: the `[api]` settings.
        token: the bearer token, or None.
        data_dir: the daemon's data folder (backtest jobs keep their files there).
        recording: the market data recording candles are read from (None: the default
            file name in `data_dir`).
    """

    def __init__(self, config: ApiConfig, token: Secret | None, *,
                 data_dir: Path | None = None, recording: Path | None = None) -> None:
        self.config = config
        self._token = token
        self._data_dir = data_dir
        self._recording = recording
        self._node: TradingNode | None = None
        self.port: int | None = None
        """The port listened on (the configured one, or the one the OS chose for 0)."""

    def attach(self, node: TradingNode) -> None:
        """Name the node served (made after this server: the node runs it as a service)."""
        self._node = node

    @property
    def recording(self) -> Path | None:
        """The recording the candles route reads (None: the default name in the data dir)."""
        return self._recording

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port if self.port is not None else self.config.port}"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report started, serve until cancelled, then close the connections."""
        if self._node is None:
            raise RuntimeError("api server: attach(node) before run()")
        listener = _listen(self.config.host, self.config.port)
        self.port = listener.getsockname()[1]
        app = create_app(self._node, self.config, self._token, data_dir=self._data_dir,
                         recording=self._recording)
        config = uvicorn.Config(
            app, lifespan="off",
            log_config=None, access_log=False, ws="auto", ws_max_size=64 * 1024,
            timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_S),
        )
        config.load()
        server = _Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            async with anyio.create_task_group() as jobs:  # backtest jobs: cancelled last
                if app.state.api.jobs is not None:
                    app.state.api.jobs.attach(jobs)
                await server.startup(sockets=[listener])
                logger.info("api listening on %s", self.url)  # the e2e test reads this line
                logger.info("dashboard %s/, API docs %s/docs", self.url, self.url)
                task_status.started()
                await server.main_loop()
                jobs.cancel_scope.cancel()
        finally:
            server.should_exit = True
            with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_TIMEOUT_S):
                await server.shutdown(sockets=[listener])
            listener.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise OSError(error.errno, f"api: cannot listen on {host}:{port}: "
                      f"{error.strerror}") from error
    listener.listen(128)
    listener.setblocking(False)
    return listener
