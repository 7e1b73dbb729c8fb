"""IbkrVenueBinding: an IBKR venue as the trading node's `VenueBinding`.

The node drives live venues through an `ExecutionBridge` registered at the venue's
endpoint: it queues the graph's commands and sends them through the client once
journaled and while the send gate is open. The client's events must reach the same
inbox the node attaches to the bridge, so the binding's bridge takes that sink when
the node attaches it and the client delivers through it; after every reconnect the
client awaits the bridge's `reconnected`, so the node reconciles before sending again.
Events are stamped by the graph's clock (the bridge's, once registered).

The bridge needs the order manager's view for the venue order id of a cancel or modify:
the caller passes one (it may resolve lazily, as the graph is built after the binding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from adapters.ibkr.config import IbkrVenueConfig
from adapters.ibkr.execution import IbkrExecutionClient
from engine.actor import Actor
from engine.events.base import Event
from engine.ports import OpenOrdersView
from engine.runtime import AdapterTask, DurableOutbox, ExecutionBridge, SendGate

__all__ = ("IbkrVenueBinding",)


class _LateSink:
    """The client's sink until the node attaches the real one (then it forwards)."""

    def __init__(self, venue: str) -> None:
        self._venue = venue
        self.target: Callable[[Event], None] | None = None

    def __call__(self, event: Event) -> None:
        if self.target is None:
            raise RuntimeError(f"venue {self._venue}: {type(event).__name__} before the node "
                               "attached its inbox")
        self.target(event)


class _IbkrBridge(ExecutionBridge):
    """The execution bridge, also handing the node's inbox sink to the client."""

    def __init__(self, client: IbkrExecutionClient, sink: _LateSink, *,
                 orders: OpenOrdersView) -> None:
        super().__init__(client, orders=orders)
        self._client_sink = sink

    def attach(
        self,
        *,
        gate: SendGate,
        deliver: Callable[[Event], None],
        outbox: DurableOutbox | None = None,
        on_reconnect: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        super().attach(gate=gate, deliver=deliver, outbox=outbox, on_reconnect=on_reconnect)
        self._client_sink.target = deliver


class IbkrVenueBinding:
    """One `kind = "ibkr"` venue for the node (module docstring).

    Args:
        config: the venue entry.
        orders: the order manager's view (for venue order ids of cancels and modifies).
    """

    def __init__(self, config: IbkrVenueConfig, *, orders: OpenOrdersView) -> None:
        self._sink = _LateSink(config.venue)
        self._client = IbkrExecutionClient(config, self._sink, now_ns=self._now_ns)
        self._bridge = _IbkrBridge(self._client, self._sink, orders=orders)
        self._client.on_reconnected = self._bridge.reconnected

    @property
    def venue(self) -> str:
        return self._client.venue

    @property
    def actor(self) -> Actor:
        return self._bridge

    @property
    def bridge(self) -> ExecutionBridge:
        return self._bridge

    @property
    def tasks(self) -> Sequence[AdapterTask]:
        return (self._client.run,)

    def execution_client(self) -> IbkrExecutionClient:
        return self._client

    def _now_ns(self) -> int:
        return self._bridge.clock.timestamp_ns()
