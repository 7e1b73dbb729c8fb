"""The replay feed: paced by ts_event on the engine clock, restamped, skipping, finishing."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import anyio.lowlevel
import msgspec
import pytest
from hypothesis import given, strategies as st

from adapters.data.recording import AsyncRecordingStore, MarketData, RecordingSource
from adapters.replay import FundedItems, ReplayFeed, ReplayFeedConfig, ReplayFeedStatistics
from engine.config import convert_config
from engine.domain import BookAction, OrderSide
from engine.errors import ConfigError
from engine.events import Bar, BookDelta, FundingRate, QuoteTick, TradeTick, encode_msgpack
from engine.testing import INSTRUMENT_ID, make_bars

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000


class ManualClock:
    """Engine time that jumps to each deadline at once (trio's MockClock idea)."""

    def __init__(self, start_ns: int) -> None:
        self.now = start_ns
        self.sleeps: list[int] = []

    def timestamp_ns(self) -> int:
        return self.now

    async def sleep_until(self, ts_ns: int) -> None:
        self.sleeps.append(ts_ns)
        self.now = max(self.now, ts_ns)
        await anyio.lowlevel.checkpoint()


class ScaledClock:
    """Engine time = origin + elapsed monotonic time x speed, like the daemon's LiveClock."""

    def __init__(self, origin_ns: int, speed: float) -> None:
        self.origin_ns = origin_ns
        self.speed = speed
        self.started = time.monotonic_ns()

    def timestamp_ns(self) -> int:
        return self.origin_ns + int((time.monotonic_ns() - self.started) * self.speed)

    async def sleep_until(self, ts_ns: int) -> None:
        # A timer may fire a hair early: sleep again for what is left.
        while (remaining := ts_ns - self.timestamp_ns()) > 0:  # noqa: ASYNC110
            await anyio.sleep(remaining / self.speed / 1e9)


def trade(ts_event: int, price: float = 100.0) -> TradeTick:
    return TradeTick(instrument_id=INSTRUMENT_ID, price=price, size=1.0, ts_event=ts_event,
                     ts_init=ts_event)


def mixed_items() -> list[MarketData]:
    bars: list[MarketData] = list(make_bars([100.0, 101.0], start_ns=T0))  # close T0+1m, +2m
    return [
        trade(T0 + 10),
        QuoteTick(instrument_id=INSTRUMENT_ID, bid_price=99.0, ask_price=101.0, bid_size=1.0,
                  ask_size=1.0, ts_event=T0 + 20, ts_init=T0 + 20),
        BookDelta(instrument_id=INSTRUMENT_ID, side=OrderSide.BUY, action=BookAction.ADD,
                  price=99.5, size=2.0, ts_event=T0 + 30, ts_init=T0 + 30),
        bars[0],
        trade(T0 + MINUTE + 5),
        bars[1],
    ]


async def play(feed: ReplayFeed) -> None:
    async with anyio.create_task_group() as group:
        await group.start(feed.run)
        with anyio.fail_after(10):
            await feed.finished.wait()


def build(items: list[MarketData], clock: ManualClock | ScaledClock, **options: object
          ) -> tuple[ReplayFeed, list[tuple[int, MarketData]]]:
    delivered: list[tuple[int, MarketData]] = []
    feed = ReplayFeed(
        items, clock=clock, deliver=lambda item: delivered.append((clock.timestamp_ns(), item)),
        **options,  # type: ignore[arg-type]
    )
    return feed, delivered


async def test_replay_feed_paces_each_item_by_its_ts_event() -> None:
    items = mixed_items()
    clock = ManualClock(T0)
    feed, delivered = build(items, clock)

    await play(feed)

    assert clock.sleeps == [item.ts_event for item in items]
    assert [at for at, _ in delivered] == [item.ts_event for item in items]
    bar = delivered[3][1]
    assert type(bar) is Bar and delivered[3][0] == T0 + MINUTE  # a bar arrives at its close


async def test_replay_feed_restamps_ts_init_with_the_time_each_item_was_due() -> None:
    items = [trade(T0 + 5), trade(T0 + 3), trade(T0 + 9)]  # a late print in the middle
    clock = ManualClock(T0 + 4)
    feed, delivered = build(items, clock)

    await play(feed)

    assert [item.ts_init for _, item in delivered] == [T0 + 5, T0 + 5, T0 + 9]
    assert [item.ts_event for _, item in delivered] == [T0 + 5, T0 + 3, T0 + 9]
    assert feed.statistics().max_lag_ns == 2


async def test_replay_feed_without_restamp_delivers_items_unchanged() -> None:
    items = mixed_items()
    feed, delivered = build(items, ManualClock(T0 - MINUTE), restamp=False)

    await play(feed)

    assert [encode_msgpack(item) for _, item in delivered] == [encode_msgpack(i) for i in items]


async def test_replay_feed_skip_passes_over_first_items_without_waiting() -> None:
    items = mixed_items()
    clock = ManualClock(T0)
    feed, delivered = build(items, clock, skip=4)

    await play(feed)

    assert [item.ts_event for _, item in delivered] == [item.ts_event for item in items[4:]]
    assert clock.sleeps == [item.ts_event for item in items[4:]]
    assert feed.statistics() == ReplayFeedStatistics(delivered=2, skipped=4, max_lag_ns=0)


async def test_replay_feed_skip_past_the_end_finishes_with_nothing_delivered() -> None:
    feed, delivered = build(mixed_items(), ManualClock(T0), skip=100)

    await play(feed)

    assert delivered == []
    assert (feed.statistics().delivered, feed.statistics().skipped) == (0, 6)


async def test_replay_feed_sets_finished_only_after_the_last_item() -> None:
    items = mixed_items()
    finished_at_delivery: list[bool] = []
    feed = ReplayFeed(items, clock=ManualClock(T0),
                      deliver=lambda item: finished_at_delivery.append(feed.finished.is_set()))

    await play(feed)

    assert finished_at_delivery == [False] * len(items)
    assert feed.finished.is_set()
    assert feed.statistics().delivered == len(items)


async def test_replay_feed_on_scaled_clock_delivers_everything_in_order() -> None:
    items: list[MarketData] = list(make_bars([100.0 + i for i in range(20)], start_ns=T0))
    clock = ScaledClock(T0, speed=1e6)  # a minute of engine time is 60 microseconds
    feed, delivered = build(items, clock)

    await play(feed)

    assert [item.ts_event for _, item in delivered] == [item.ts_event for item in items]
    assert all(item.ts_init >= item.ts_event for _, item in delivered)
    assert [item.ts_init for _, item in delivered] == sorted(i.ts_init for _, i in delivered)


async def test_replay_feed_replays_a_recording_with_arrival_times(tmp_path: Path) -> None:
    items = mixed_items()
    path = tmp_path / "session.sqlite"
    async with AsyncRecordingStore(path) as store:
        await store.new_session(T0)
        await store.append_many(items)
    feed, delivered = build(list(RecordingSource(path)), ManualClock(T0))

    await play(feed)

    assert [msgspec.structs.replace(item, ts_init=0) for _, item in delivered] == [
        msgspec.structs.replace(item, ts_init=0) for item in items
    ]


@given(
    events=st.lists(st.integers(min_value=0, max_value=10 * MINUTE), max_size=40),
    start=st.integers(min_value=0, max_value=10 * MINUTE),
    skip=st.integers(min_value=0, max_value=5),
)
def test_replay_feed_delivers_in_input_order_with_non_decreasing_ts_init(
    events: list[int], start: int, skip: int
) -> None:
    items: list[MarketData] = [trade(T0 + ts, price=float(i + 1)) for i, ts in enumerate(events)]
    feed, delivered = build(items, ManualClock(T0 + start), skip=skip)

    anyio.run(play, feed, backend="asyncio")

    prices = [item.price for _, item in delivered]  # type: ignore[union-attr]
    stamps = [item.ts_init for _, item in delivered]
    assert prices == [float(i + 1) for i in range(skip, len(events))]
    assert stamps == sorted(stamps)
    assert all(item.ts_init >= item.ts_event for _, item in delivered)


def test_replay_feed_config_builds_csv_bars_from_a_sample_path() -> None:
    config = convert_config(
        {"kind": "replay", "path": "sample:btcusdt_1m.csv", "instrument_id": INSTRUMENT_ID},
        ReplayFeedConfig,
    )

    items = iter(config.build_items(None))
    first = next(items)

    assert type(first) is Bar and first.bar_type == config.bar_type


async def test_replay_feed_config_builds_a_recording_of_one_instrument(tmp_path: Path) -> None:
    other = msgspec.structs.replace(trade(T0 + 15), instrument_id="ETH/USDT.SIM")
    async with AsyncRecordingStore(tmp_path / "rec.db") as store:
        await store.new_session(T0)
        await store.append_many([*mixed_items(), other])
    config = ReplayFeedConfig(path="rec.db", instrument_id=INSTRUMENT_ID)

    items = list(config.build_items(tmp_path))

    assert [encode_msgpack(i) for i in items] == [encode_msgpack(i) for i in mixed_items()]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "bars.parquet"}, "expected a .csv bar file or a recording"),
        ({"path": "bars.csv", "speed": 60}, r"\$\.speed"),  # the pace is [runtime] speed
        ({"path": "rec.sqlite", "funding": "f.csv"}, "a recording replays the funding rates"),
        ({"path": "bars.csv", "funding": "f.json"}, "expected a .csv funding-rate file"),
    ],
)
def test_replay_feed_config_invalid_raises_config_error(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        convert_config({"instrument_id": INSTRUMENT_ID, **fields}, ReplayFeedConfig)


def test_replay_feed_negative_skip_raises() -> None:
    with pytest.raises(ValueError, match="skip -1"):
        ReplayFeed([], clock=ManualClock(0), deliver=lambda item: None, skip=-1)


async def test_replay_feed_stamp_does_not_depend_on_how_late_it_runs() -> None:
    items = [trade(T0 + 5), trade(T0 + 3), trade(T0 + 9)]
    late_clock = ManualClock(T0 + MINUTE)  # a minute behind: every item is overdue
    late, late_delivered = build(items, late_clock)
    await play(late)

    assert [item.ts_init for _, item in late_delivered] == [T0 + 5, T0 + 5, T0 + 9]
    assert late.statistics().max_lag_ns == MINUTE - 3  # the lag is still measured


def rate(ts_event: int, value: float = 0.0001) -> FundingRate:
    return FundingRate(instrument_id=INSTRUMENT_ID, rate=value, ts_event=ts_event,
                       ts_init=ts_event)


def test_funded_items_put_each_rate_after_the_bars_up_to_its_time_again_each_run() -> None:
    bars = make_bars([100.0, 101.0, 102.0], start_ns=T0)
    rates = [rate(T0 - 1), rate(bars[1].ts_event), rate(bars[2].ts_event + 1)]
    funded = FundedItems(bars, rates)

    first = list(funded)

    # A rate at a bar's time comes after the bar, as a backtest orders them.
    assert first == [rates[0], bars[0], bars[1], rates[1], bars[2], rates[2]]
    assert list(funded) == first


def test_replay_feed_config_with_funding_plays_the_rates_among_the_bars(tmp_path: Path) -> None:
    bars = list(ReplayFeedConfig(path="sample:btcusdt_1m.csv", instrument_id=INSTRUMENT_ID)
                .build_items(None))[:3]
    (tmp_path / "funding.csv").write_text(
        f"ts,rate\n{bars[1].ts_event // 1_000_000},0.0001\n")
    config = ReplayFeedConfig(path="sample:btcusdt_1m.csv", instrument_id=INSTRUMENT_ID,
                              funding="funding.csv")

    items = iter(config.build_items(tmp_path))
    head = [next(items) for _ in range(4)]

    assert head[:2] == bars[:2] and head[3] == bars[2]
    assert type(head[2]) is FundingRate
    assert (head[2].rate, head[2].ts_event, head[2].instrument_id) == (
        0.0001, bars[1].ts_event, INSTRUMENT_ID)


async def test_replay_feed_resumes_after_a_rate_at_a_bars_time() -> None:
    """A funding rate at a bar's ts_event counts toward the resume point: resuming after
    the rate does not deliver the bar (or the rate) again."""
    bars = make_bars([100.0, 101.0, 102.0], start_ns=T0)
    items: list[MarketData] = list(FundedItems(bars, [rate(bars[1].ts_event)]))
    feed, delivered = build(items, ManualClock(T0), resume_after=(bars[1].ts_event, 2))

    await play(feed)

    assert [item for _, item in delivered] == [bars[2]]
