"""Recorded market data replayed in (scaled) real time into a live graph: paper mode offline."""

from adapters.replay.feed import (
    FundedItems,
    PacingClock,
    ReplayFeed,
    ReplayFeedConfig,
    ReplayFeedStatistics,
)

__all__ = ("FundedItems", "PacingClock", "ReplayFeed", "ReplayFeedConfig", "ReplayFeedStatistics")
