"""The `sim` venue kind: the simulated venue, wholly inside the graph, as a node binding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.sim import SimExecutionClient, SimVenue, SimVenueConfig
from engine.runtime import AdapterTask

if TYPE_CHECKING:
    from api.compose.registry import VenueContext

__all__ = ("SimVenueBinding", "SimVenueEntry", "make_sim_venue")


class SimVenueEntry(
    SimVenueConfig, tag_field="kind", tag="sim", frozen=True, kw_only=True,
    forbid_unknown_fields=True,
):
    """A `[[venues]] kind = "sim"` entry: the simulated venue's own config, tagged.

    A subclass, so the adapter's config stays untagged for the backtest file's `[venue]`.
    The latency model is a backtest's: a paper daemon's venue answers at once, so its
    reconciliation never meets an order still on its way to the venue (which it would
    book as never arrived).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("command_latency_ns", "event_latency_ns"):
            if getattr(self, name):
                raise ValueError(f"{name}: a backtest model (the paper daemon's simulated "
                                 "venue answers at once); leave it 0 here")



class SimVenueBinding:
    """The simulated venue: its actor fills orders in the graph, no task, nothing to connect.

    Its execution client answers the node's reconciliation from the venue's own records
    (it always agrees: recovery rebuilds the venue by the same replay).
    """

    def __init__(self, actor: SimVenue, venue: str) -> None:
        self._actor = actor
        self._venue = venue
        self._client = SimExecutionClient(actor)

    @property
    def venue(self) -> str:
        return self._venue

    @property
    def actor(self) -> SimVenue:
        return self._actor

    @property
    def tasks(self) -> Sequence[AdapterTask]:
        return ()

    def execution_client(self) -> SimExecutionClient:
        return self._client


def make_sim_venue(config: SimVenueEntry, context: VenueContext) -> SimVenueBinding:
    """Build the simulated venue on the node's instruments and the cache its graph uses."""
    return SimVenueBinding(SimVenue(config, context.instruments, cache=context.cache,
                                    starting_balances=context.starting_balances),
                           config.venue)
