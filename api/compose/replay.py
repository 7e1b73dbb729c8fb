"""The `replay` feed kind: CSV bars or a recording played in (scaled) real time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import anyio

from adapters.data.config import resolve_data_path
from adapters.replay import ReplayFeed, ReplayFeedConfig, ReplayFeedStatistics
from engine.errors import ConfigError
from engine.events import BarType
from engine.events.market import timeframe_ns
from engine.ports import MarketData
from engine.runtime import Deliver, FeedClock

if TYPE_CHECKING:
    from api.compose.registry import FeedContext

__all__ = ("ReplayFeedBinding", "ReplayFeedConfig", "make_replay_feed")


class ReplayFeedBinding:
    """A replay feed as the node sees it: one instrument's recorded items, paced by the clock.

    CSV bars are declared to the graph as a bar source; a recording is not (it may hold
    trades, quotes and bars of any timeframe). The items are read again from the start
    for `first_event_time` and for each run (the sources re-open their file).
    """

    def __init__(self, config: ReplayFeedConfig, items: Iterable[MarketData]) -> None:
        self.config = config
        self.items = items
        self._finished = anyio.Event()
        self._feed: ReplayFeed | None = None

    @property
    def instrument_id(self) -> str:
        return self.config.instrument_id

    @property
    def bar_type(self) -> BarType | None:
        return None if self.config.is_recording else self.config.bar_type

    @property
    def finished(self) -> anyio.Event:
        return self._finished

    def first_event_time(self) -> int | None:
        for item in self.items:
            return item.ts_event
        return None

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        feed = self._feed = ReplayFeed(self.items, clock=clock, deliver=deliver,
                                       resume_after=resume_after)
        await feed.run()
        self._finished.set()

    def statistics(self) -> ReplayFeedStatistics | None:
        """The running feed's counters (None before it runs)."""
        return self._feed.statistics() if self._feed is not None else None


def make_replay_feed(config: ReplayFeedConfig, context: FeedContext) -> ReplayFeedBinding:
    """Open the feed's file (relative to the config's folder), refusing a missing one."""
    if not config.is_recording:
        try:
            timeframe_ns(config.timeframe)
        except ValueError as error:
            raise ConfigError(f"{context.at}.timeframe", str(error), file=context.file) from error
    path = resolve_data_path(config.path, base=context.base)
    if not path.exists():
        raise ConfigError(f"{context.at}.path", f"no such file: {path}", file=context.file)
    return ReplayFeedBinding(config, config.build_items(context.base))
