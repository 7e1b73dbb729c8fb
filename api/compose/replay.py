"""The `replay` feed kind: CSV bars or a recording played in (scaled) real time.

A CSV is checked whole before the session starts (a bad file is a ConfigError naming the
feed's path and the file's line), so a daemon never starts on data it would crash on. A
row that is bad anyway when the feed reaches it (the file changed since) is counted,
logged with its line and skipped, or ends the feed (`bad_rows = "stop"`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import anyio
import msgspec

from adapters.data import CsvBarSource, check_bars_csv
from adapters.data.config import resolve_data_path
from adapters.data.funding_csv import load_funding_csv
from adapters.replay import FundedItems, ReplayFeed, ReplayFeedConfig, ReplayFeedStatistics
from engine.errors import ConfigError, DataError
from engine.events import BarType
from engine.events.market import FundingRate, timeframe_ns
from engine.ports import MarketData
from engine.runtime import Deliver, FeedClock

if TYPE_CHECKING:
    from pathlib import Path

    from api.compose.registry import FeedContext

__all__ = ("ReplayFeedBinding", "ReplayFeedConfig", "ReplayFeedBindingStatistics",
           "make_replay_feed")

logger = logging.getLogger(__name__)

_HEAD_ROWS = 256
"""Rows a CSV's head is read in for its first bar (more only when all of them are bad)."""


class ReplayFeedBindingStatistics(ReplayFeedStatistics, frozen=True, kw_only=True):
    bad_rows: int
    """Bad rows met while replaying (skipped, or the one that ended the feed)."""


class ReplayFeedBinding:
    """A replay feed as the node sees it: one instrument's recorded items, paced by the clock.

    CSV bars are declared to the graph as a bar source; a recording is not (it may hold
    trades, quotes and bars of any timeframe). The items are read again from the start
    for each run (the sources re-open their file); `first_event_time` reads only the
    head of a CSV, once (the node asks at every start, and a chunk of a long file is
    65,536 rows parsed for one).
    """

    def __init__(
        self, config: ReplayFeedConfig, items: Iterable[MarketData] | None = None,
        *, base: Path | None = None,
    ) -> None:
        self.config = config
        self.items = (items if items is not None
                      else config.build_items(base, on_bad_row=self._bad_row))
        self.bad_rows = 0
        self._finished = anyio.Event()
        self._feed: ReplayFeed | None = None
        self._first_ts: tuple[int | None] | None = None  # once read: (ts_event or None,)

    def _bad_row(self, error: DataError) -> None:
        self.bad_rows += 1
        if self.config.bad_rows == "stop":
            raise error
        logger.error("feed %s: bad row skipped: %s", self.instrument_id, error)

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
        if self._first_ts is None:
            items = self.items
            rates: Sequence[FundingRate] = ()
            if isinstance(items, FundedItems):
                items, rates = items.items, items.rates
            if isinstance(items, CsvBarSource):  # the same first bar, from a short chunk
                items = CsvBarSource(items.path, items.bar_type, chunk_rows=_HEAD_ROWS,
                                     on_bad_row=items.on_bad_row)
            first = [ts for ts in (next((item.ts_event for item in items), None),
                                   rates[0].ts_event if rates else None) if ts is not None]
            self._first_ts = (min(first) if first else None,)
        return self._first_ts[0]

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        feed = self._feed = ReplayFeed(self.items, clock=clock, deliver=deliver,
                                       resume_after=resume_after)
        try:
            await feed.run()
        except DataError as error:  # bad_rows = "stop": this feed ends, the daemon runs on
            logger.error("feed %s stopped at a bad row (bad_rows = \"stop\"): %s",
                         self.instrument_id, error)
        self._finished.set()

    def statistics(self) -> ReplayFeedBindingStatistics | None:
        """The running feed's counters (None before it runs)."""
        if self._feed is None:
            return None
        return ReplayFeedBindingStatistics(**msgspec.structs.asdict(self._feed.statistics()),
                                           bad_rows=self.bad_rows)


def make_replay_feed(config: ReplayFeedConfig, context: FeedContext) -> ReplayFeedBinding:
    """Open the feed's file (relative to the config's folder), refusing a missing one."""
    if not config.is_recording:
        try:
            timeframe_ns(config.timeframe)
        except ValueError as error:
            raise ConfigError(f"{context.at}.timeframe", str(error), file=context.file) from error
    path = resolve_data_path(config.path, base=context.base)
    at = f"{context.at}.path"
    if not path.exists():
        raise ConfigError(at, f"no such file: {path}", file=context.file)
    if not path.is_file():
        raise ConfigError(at, f"{path}: not a file (a folder?)", file=context.file)
    if not config.is_recording:
        try:
            check_bars_csv(path, config.bar_type, full=True)
        except DataError as error:
            raise ConfigError(at, str(error), file=context.file) from error
        except OSError as error:
            raise ConfigError(at, f"{path}: cannot read: {error.strerror}",
                              file=context.file) from error
    if config.funding is not None:
        _check_funding(config.funding, config.instrument_id, context)
    return ReplayFeedBinding(config, base=context.base)


def _check_funding(funding: str, instrument_id: str, context: FeedContext) -> None:
    """A feed's funding file exists and is good from its first row to its last."""
    at = f"{context.at}.funding"
    path = resolve_data_path(funding, base=context.base)
    if not path.is_file():
        raise ConfigError(at, f"no such file: {path}", file=context.file)
    try:
        load_funding_csv(path, instrument_id)
    except DataError as error:
        raise ConfigError(at, str(error), file=context.file) from error
