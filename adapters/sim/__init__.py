"""The simulated venue: fills orders against market data by documented, deterministic rules."""

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
from adapters.sim.venue import SimVenue, SimVenueConfig, SimVenueStatistics

__all__ = (
    "MarketItem",
    "Match",
    "OrderTerms",
    "SimVenue",
    "SimVenueConfig",
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
