"""What every route reads: the node, the token guard and the settings, in one object.

Routes only read actors' public methods and `node.statistics()`, and change state only
by injecting commands as journaled inputs (`inject`), so a replay repeats them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection

from api.http.auth import Guard
from api.http.config import ApiConfig
from api.http.errors import ApiError
from api.http.jobs import BacktestJobs
from engine.domain.ids import ClientOrderIds, session_order_prefix
from engine.graph import TradingGraph
from engine.runtime.node import TradingNode
from engine.runtime.runner import RunnerState
from engine.topics import RISK_EXECUTE

__all__ = ("DEFAULT_RECORDING", "ApiContext", "context")

logger = logging.getLogger(__name__)

DEFAULT_RECORDING = "recording.sqlite"
"""The recording's file name in the data folder (`[runtime] recording`'s default)."""


class ApiContext:
    """The node as the API sees it.

    Args:
        node: the running node (its graph exists once it runs).
        config: the `[api]` settings.
        guard: the token checks.
        jobs: the backtest jobs, run in worker processes.
        recording: the daemon's market data recording, where candles are read.
    """

    def __init__(self, node: TradingNode, config: ApiConfig, guard: Guard,
                 jobs: BacktestJobs | None = None, *,
                 recording: Path | None = None) -> None:
        self.node = node
        self.config = config
        self.guard = guard
        self.jobs = jobs
        """The backtest jobs (None: the app was made without a data folder)."""
        self.recording = recording if recording is not None else Path(DEFAULT_RECORDING)
        """The recording file (relative: none was given; candles then find no file)."""
        self.started_monotonic = time.monotonic()  # the API's own uptime, not engine time
        self._next_client_tap = 0
        self._order_ids: tuple[int, ClientOrderIds] | None = None  # (session epoch, ids)
        self._order_sequence = 0

    def graph(self) -> TradingGraph:
        graph = self.node.graph
        if graph is None:
            raise ApiError(503, "the node has not built its graph yet")
        return graph

    def now_ns(self) -> int:
        clock = self.node.clock
        if clock is None:
            raise ApiError(503, "the node has no clock yet")
        return clock.timestamp_ns()

    def inject(self, command: Any) -> None:
        """Bring an operator order command into the graph at risk, as a journaled input.

        The graph handles it synchronously: when this returns, its effects (a denial,
        a submission, a venue's acceptance) are in the actors' state.
        """
        self.inject_at(RISK_EXECUTE, command)

    def inject_at(self, endpoint: str, command: Any) -> None:
        """Bring an operator command in at `endpoint`, as a journaled input (see `inject`)."""
        runner = self.node.runner
        if runner is None or self.node.state is not RunnerState.RUNNING:
            raise ApiError(503, f"the node is {self.node.state}: commands are taken while "
                           "it is running")
        try:
            runner.inject(command, endpoint)
        except Exception:
            # A core actor failed on it (strategies' faults are isolated in the graph).
            # The runner would end the node on that (crash-only: the journal makes a
            # restart safe); the API must not keep a node running past it either.
            logger.exception("api: the graph failed on %s; stopping the node",
                             type(command).__name__)
            self.node.request_stop()
            raise

    def next_client_order_id(self, strategy_id: str) -> str:
        """A client order id no venue has seen: the session's prefix, then a sequence.

        The prefix is the session's order id epoch (`engine.domain.ids`), so ids stay
        unique across restarts; an id already in the books is skipped.
        """
        graph = self.graph()
        epoch = graph.session_epoch_ms
        if self._order_ids is None or self._order_ids[0] != epoch:
            self._order_ids = (epoch, ClientOrderIds(strategy_id, session_order_prefix(epoch)))
        ids = self._order_ids[1]
        while True:
            self._order_sequence += 1
            candidate = ids.make(self._order_sequence)
            if graph.orders.order(candidate) is None:
                return candidate

    def tap_name(self) -> str:
        """A fresh name for a WebSocket client's tap (shown in statistics and metrics)."""
        self._next_client_tap += 1
        return f"ws-{self._next_client_tap}"


def context(connection: HTTPConnection) -> ApiContext:
    """The ApiContext `create_app` put on the app."""
    api: ApiContext = connection.app.state.api
    return api
