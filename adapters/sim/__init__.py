"""The simulated venue: fills orders against market data by documented, deterministic rules.

`SimVenue` is the in-graph actor; `SimExecutionClient` puts it behind the execution-client
port, in a graph or standalone on a bus of its own.
"""

from adapters.sim.client import EventForwarder, SimExecutionClient
from adapters.sim.config import SimVenueConfig
from adapters.sim.fee_tiers import FeeTier, FeeTiers
from adapters.sim.fees import commission, notional
from adapters.sim.matching import (
    MarketItem,
    Match,
    OrderTerms,
    fill_quantity,
    market_item,
    match_bar,
    match_quote,
    match_trade,
    volume_capacity,
)
from adapters.sim.snapshot import SimVenueSnapshot
from adapters.sim.venue import SimVenue, SimVenueStatistics

__all__ = (
    "EventForwarder",
    "FeeTier",
    "FeeTiers",
    "MarketItem",
    "Match",
    "OrderTerms",
    "SimExecutionClient",
    "SimVenue",
    "SimVenueConfig",
    "SimVenueSnapshot",
    "SimVenueStatistics",
    "commission",
    "fill_quantity",
    "market_item",
    "match_bar",
    "match_quote",
    "match_trade",
    "notional",
    "volume_capacity",
)
