"""IbkrVenueBinding: an IBKR venue as the trading node's `VenueBinding`.

The node drives live venues through an `ExecutionBridge` registered at the venue's
endpoint: it queues the graph's commands and sends them through the client once
journaled and while the send gate is open. The client is built before the node attaches
its inbox to the bridge, so it delivers through the bridge's `deliver` (which always
reaches the sink attached last); after every reconnect the client awaits the bridge's
`reconnected`, so the node reconciles before sending again. Events are stamped by the
graph's clock (the bridge's, once registered).

The bridge needs the order manager's view for the venue order id of a cancel or modify:
the caller passes one (it may resolve lazily, as the graph is built after the binding).
"""

from __future__ import annotations

from adapters.ibkr.config import IbkrVenueConfig
from adapters.ibkr.execution import IbkrExecutionClient
from engine.ports import OpenOrdersView
from engine.runtime import BridgedVenueBinding, ExecutionBridge

__all__ = ("IbkrVenueBinding",)


class IbkrVenueBinding(BridgedVenueBinding):
    """One `kind = "ibkr"` venue for the node (module docstring).

    Args:
        config: the venue entry.
        orders: the order manager's view (for venue order ids of cancels and modifies).
    """

    _client: IbkrExecutionClient

    def __init__(self, config: IbkrVenueConfig, *, orders: OpenOrdersView) -> None:
        self._client = IbkrExecutionClient(config, self._deliver, now_ns=self._now_ns)
        self._bridge = ExecutionBridge(self._client, orders=orders)
        self._client.on_reconnected = self._bridge.reconnected
