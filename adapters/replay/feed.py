"""Play recorded market data into a live graph in (scaled) real time: paper mode offline.

The feed waits, on a pacing clock, until the engine time reaches each item's `ts_event`
and hands it on, stamped (`ts_init`) with the engine time it was due at: its `ts_event`,
or the previous item's stamp when that is later. That is when a feed that never lags
would hand it on, and, unlike the time it did arrive at, it does not depend on how far
behind real time the session runs, so a paper session restarted after a crash gets the
same inputs, at the same engine times, as one that ran through (the runner handles
each input with the clock pinned at its `ts_init`). Items are paced by `ts_event` for
every kind; for a bar that is its close, the moment its values are known, so no bar
arrives before it could have.
The clock decides the speed: the daemon's `LiveClock` runs engine time at `speed` times
real time from an origin (usually the first item's time), so a day of bars can replay in
minutes while the graph, its timers and the strategies see one consistent timeline.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, Literal, Protocol

import anyio
import msgspec
from anyio.abc import TaskStatus

from adapters.data.config import resolve_data_path
from adapters.data.csv_bars import BadRowHandler, CsvBarSource
from adapters.data.funding_csv import load_funding_csv
from adapters.data.recording import MarketData, RecordingSource
from engine.config import Config
from engine.events import BarType
from engine.events.market import FundingRate

__all__ = ("FundedItems", "PacingClock", "ReplayFeed", "ReplayFeedConfig",
           "ReplayFeedStatistics")

RECORDING_SUFFIXES: Final = (".sqlite", ".sqlite3", ".db")


class PacingClock(Protocol):
    """The engine time a feed paces by (the daemon's `LiveClock` provides both methods)."""

    def timestamp_ns(self) -> int: ...

    async def sleep_until(self, ts_ns: int) -> None:
        """Return once the engine time is at or past `ts_ns` (at once if it already is)."""
        ...


class ReplayFeedStatistics(msgspec.Struct, frozen=True, kw_only=True):
    delivered: int
    skipped: int
    max_lag_ns: int
    """The largest (engine time at delivery - item.ts_event) seen: how far behind it ran."""
    lag_ns: int = 0
    """The same for the last item delivered: how far behind it runs now."""


class ReplayFeed:
    """Deliver `items` when the engine clock reaches their `ts_event`, in input order.

    `deliver` must not block: it puts the item into the daemon's bounded inbox. The first
    `skip` items are passed over without waiting (resuming a session part way). Or, with
    `resume_after = (ts_event, count)`, every item up to the `count`-th one at that
    `ts_event` is: that resumes right after the last item a session handled even when its
    full inbox dropped some before it (a count would resume too early and hand those on
    late, out of time order). It assumes non-decreasing `ts_event`s, as bar files and
    recordings have. With `restamp`, each delivered item's `ts_init` becomes the time it
    was due at (its `ts_event`, or the previous stamp if later), so it is non-decreasing
    even where the recording's `ts_event`s are not, and the same however late it runs.

    Reading `items` happens on the event loop: the bundled sources read in chunks, so a
    stall is one chunk's read (a few milliseconds), not one per item.
    """

    def __init__(
        self,
        items: Iterable[MarketData],
        *,
        clock: PacingClock,
        deliver: Callable[[MarketData], None],
        skip: int = 0,
        resume_after: tuple[int, int] | None = None,
        restamp: bool = True,
    ) -> None:
        if skip < 0:
            raise ValueError(f"skip {skip}: must not be negative")
        self.items = items
        self.clock = clock
        self.deliver = deliver
        self.skip = skip
        self.resume_after = resume_after
        self.restamp = restamp
        self.finished = anyio.Event()
        """Set once every item was delivered (or skipped)."""
        self._delivered = 0
        self._skipped = 0
        self._max_lag_ns = 0
        self._lag_ns = 0

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver every item at its time, then set `finished` and return."""
        task_status.started()
        clock = self.clock
        deliver = self.deliver
        replace = msgspec.structs.replace
        resume_after = self.resume_after
        at_last_time = 0  # items at the resume time passed over so far
        stamp = 0  # the last item's ts_init: the next one's is never earlier
        for item in self.items:
            if self._skipped < self.skip:
                self._skipped += 1
                continue
            if resume_after is not None:
                last_time, handled_at_last_time = resume_after
                if item.ts_event < last_time or (
                    item.ts_event == last_time and at_last_time < handled_at_last_time
                ):
                    at_last_time += item.ts_event == last_time
                    self._skipped += 1
                    continue
                resume_after = None  # past the resume point: no need to look again
            await clock.sleep_until(item.ts_event)
            now = clock.timestamp_ns()
            self._lag_ns = now - item.ts_event
            self._max_lag_ns = max(self._max_lag_ns, self._lag_ns)
            if self.restamp:
                stamp = max(stamp, item.ts_event)
                item = replace(item, ts_init=stamp)
            deliver(item)
            self._delivered += 1
        self.finished.set()

    def statistics(self) -> ReplayFeedStatistics:
        return ReplayFeedStatistics(
            delivered=self._delivered, skipped=self._skipped, max_lag_ns=self._max_lag_ns,
            lag_ns=self._lag_ns,
        )


def _event_time(item: MarketData) -> int:
    return item.ts_event


class FundedItems:
    """One instrument's items with its funding rates among them, in `ts_event` order.

    A rate due at a bar's close comes after that bar, as a backtest orders a `[[funding]]`
    file beside its bars (ties keep source order, bars first), so a paper session and a
    backtest of the same files pay the same funding on the same position. Iterable again
    for each run, as the items are.
    """

    def __init__(self, items: Iterable[MarketData], rates: Sequence[FundingRate]) -> None:
        self.items = items
        self.rates = rates

    def __iter__(self) -> Iterator[MarketData]:
        return heapq.merge(self.items, self.rates, key=_event_time)


class ReplayFeedConfig(Config, kw_only=True, frozen=True, tag_field="kind", tag="replay"):
    """A replay feed for paper mode: CSV bars, or a recording (`.sqlite`, `.sqlite3`, `.db`).

    The pace is the daemon's clock (`[runtime] speed`): the feed only follows it. From a
    recording, only `instrument_id`'s items are replayed, of every `session` unless one is
    named; `timeframe` applies to CSV bars. The daemon checks a CSV whole before the
    session starts; a row that turns bad later (the file changed) is logged with its
    line and skipped (`bad_rows = "skip"`) or ends the feed (`"stop"`, after the last
    whole chunk of 65,536 rows before it), never a crash.

    `funding` names a perpetual's funding-rate CSV (`ts,rate[,mark_price]`, as a
    backtest's `[[funding]]`), replayed among the bars on the same clock so the venue
    pays funding as in a backtest; it is read whole and checked before the session
    starts. A recording carries the funding rates it recorded, so it takes no file.
    """

    path: str
    instrument_id: str
    timeframe: str = "1m"
    session: int | None = None
    bad_rows: Literal["skip", "stop"] = "skip"
    funding: str | None = None

    def __post_init__(self) -> None:
        if not self.is_recording and not self.path.lower().endswith(".csv"):
            raise ValueError(
                f"path {self.path!r}: expected a .csv bar file or a recording "
                f"({', '.join(RECORDING_SUFFIXES)})"
            )
        if self.funding is not None and self.is_recording:
            raise ValueError(
                f"funding {self.funding!r}: a recording replays the funding rates it "
                "recorded; a funding file goes with CSV bars only"
            )
        if self.funding is not None and not self.funding.lower().endswith(".csv"):
            raise ValueError(f"funding {self.funding!r}: expected a .csv funding-rate file")

    @property
    def is_recording(self) -> bool:
        return self.path.lower().endswith(RECORDING_SUFFIXES)

    @property
    def bar_type(self) -> BarType:
        return BarType(instrument_id=self.instrument_id, timeframe=self.timeframe)

    def build_items(
        self, base: Path | None, *, on_bad_row: BadRowHandler | None = None
    ) -> Iterable[MarketData]:
        """Return the source to replay; relative paths resolve against `base`.

        `on_bad_row` is told of each bad CSV row, which is then skipped (see the class).
        A funding file is read here, whole: a bad one raises `DataError` (its line).
        """
        path = resolve_data_path(self.path, base=base)
        if self.is_recording:
            return RecordingSource(path, session=self.session, instrument_ids=[self.instrument_id])
        bars = CsvBarSource(path, self.bar_type, on_bad_row=on_bad_row)
        if self.funding is None:
            return bars
        rates = load_funding_csv(resolve_data_path(self.funding, base=base), self.instrument_id)
        return FundedItems(bars, rates)
