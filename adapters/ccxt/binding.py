"""CcxtVenueBinding: a `[[venues]] kind = "ccxt"` entry as the trading node's `VenueBinding`.

The node drives a live venue through an `ExecutionBridge` registered at the venue's
endpoint: the bridge queues the graph's commands and sends them through the client once
journaled and while the send gate is open. The client is built before the node attaches
its inbox to the bridge, so its sink is the bridge's `deliver` (which always reaches the
sink attached last) and, after each reconnect of its private stream, it awaits the
bridge's `reconnected`, so the node reconciles the venue before anything is sent again.
Events are stamped by the graph's clock (the bridge's, once it is in the graph).

This module imports ccxt (seconds): the registry imports it only when a ccxt venue is
built, never to read a config.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.ccxt.config import CcxtConfig
from adapters.ccxt.exchange import credentials, make_exchange
from adapters.ccxt.execution import CcxtExecutionClient
from engine.ports import OpenOrdersView
from engine.runtime import BridgedVenueBinding, ExecutionBridge

__all__ = ("CcxtVenueBinding",)


class CcxtVenueBinding(BridgedVenueBinding):
    """One `kind = "ccxt"` venue for the node (module docstring).

    Args:
        config: the venue entry.
        orders: the order manager's view (the venue order id of a cancel or modify); it
            may resolve lazily, since the node builds the graph after the bindings.
        environ: where the credentials' variables are read (default: the process's).

    Raises:
        ConfigError: a credential variable is not set (named `env.<variable>`).
    """

    _client: CcxtExecutionClient

    def __init__(self, config: CcxtConfig, *, orders: OpenOrdersView,
                 environ: Mapping[str, str] | None = None) -> None:
        key, secret = credentials(config, environ)
        self._client = CcxtExecutionClient(
            config, make_exchange(config, key, secret), self._deliver,
            now_ns=self._now_ns, on_reconnected=self._reconnected)
        # The client puts an unanswered request in doubt itself, after each try's
        # timeout; the bridge's own timeout is only the backstop behind it, so it must
        # not cut the client's retries of a refused request short.
        self._bridge = ExecutionBridge(
            self._client, orders=orders,
            timeout_s=config.request_timeout_s * config.retry_attempts + 1.0)
