"""SimVenue matching against hand-built L2 books (adapters.sim.book_matching's rules).

The venue keeps its own cache here (no graph), so each delta handed to
`process_market_data` is applied to its book first, then matched, as the kernel does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, settings, strategies as st

from adapters.sim.venue import SimVenue, SimVenueConfig, SimVenueSnapshot
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import (
    BookAction,
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TriggerType,
)
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.market import BookDelta, QuoteTick, TradeTick
from engine.events.orders import ModifyOrder, OrderCanceled, OrderTriggered, SubmitOrder
from engine.instruments import InstrumentRegistry
from engine.testing.factories import INSTRUMENT_ID, make_instrument
from engine.topics import ORDERS_PROCESS, venue_endpoint

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
T0 = 1_000_000_000_000
MAKER, TAKER = LiquiditySide.MAKER, LiquiditySide.TAKER


def delta(side: OrderSide, action: BookAction, price: float = 0.0, size: float = 0.0, *,
          last: bool = True, ts: int = T0) -> BookDelta:
    return BookDelta(instrument_id=INSTRUMENT_ID, side=side, action=action, price=price,
                     size=size, last=last, ts_event=ts, ts_init=ts)


class Harness:
    """A venue with its own cache on a real bus and clock; `sent` is what it sent back."""

    def __init__(self, config: SimVenueConfig | None = None) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(T0)
        self.sent: list[Message] = []
        self.bus.register_endpoint(ORDERS_PROCESS, self.sent.append)
        self.venue = SimVenue(config or SimVenueConfig(), InstrumentRegistry([make_instrument()]))
        self.venue.register(self.bus, self.clock)
        self.venue.start()
        self.ts = T0
        self.orders = 0

    def book(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        """A snapshot, one venue message: CLEAR then ADDs, only the final one `last`."""
        deltas = [delta(BUY, BookAction.CLEAR, last=False)]
        deltas += [delta(BUY, BookAction.ADD, p, s, last=False) for p, s in bids]
        deltas += [delta(SELL, BookAction.ADD, p, s, last=False) for p, s in asks]
        deltas[-1] = msgspec.structs.replace(deltas[-1], last=True)
        for item in deltas:
            self.feed(item)

    def level(self, side: OrderSide, price: float, size: float) -> None:
        self.feed(delta(side, BookAction.UPDATE if size else BookAction.DELETE, price, size))

    def trade(self, price: float, size: float, aggressor: OrderSide | None = None) -> None:
        self.feed(TradeTick(instrument_id=INSTRUMENT_ID, price=price, size=size,
                            aggressor_side=aggressor, ts_event=self.ts, ts_init=self.ts))

    def feed(self, item: Any) -> None:
        self.ts += 1_000
        self.clock.advance_to(self.ts)
        item = msgspec.structs.replace(item, ts_event=self.ts, ts_init=self.ts)
        self.venue.process_market_data(item)

    def submit(self, side: OrderSide, quantity: str, price: str | None = None,
               **overrides: Any) -> str:
        self.orders += 1
        client_order_id = f"O-{self.orders}"
        fields: dict[str, Any] = {
            "strategy_id": "s1", "client_order_id": client_order_id,
            "instrument_id": INSTRUMENT_ID, "side": side,
            "order_type": OrderType.MARKET if price is None else OrderType.LIMIT,
            "quantity": D(quantity), "price": None if price is None else D(price),
            "ts_event": self.ts, "ts_init": self.ts,
        }
        fields.update(overrides)
        self.bus.send(venue_endpoint("SIM"), SubmitOrder(**fields))
        return client_order_id

    def fills(self, client_order_id: str | None = None) -> list[tuple[D, D, LiquiditySide]]:
        return [(m.last_price, m.last_quantity, m.liquidity_side) for m in self.sent
                if type(m) is OrderFilled
                and (client_order_id is None or m.client_order_id == client_order_id)]

    def canceled(self) -> list[str]:
        return [m.client_order_id for m in self.sent if type(m) is OrderCanceled]


BOOK_BIDS = [(100.0, 1.0), (99.99, 2.0), (99.97, 4.0)]
BOOK_ASKS = [(100.02, 1.5), (100.03, 3.0), (100.05, 1.0)]


def booked(config: SimVenueConfig | None = None) -> Harness:
    harness = Harness(config)
    harness.book(BOOK_BIDS, BOOK_ASKS)
    return harness


# -- taking ------------------------------------------------------------------------------


def test_market_buy_walks_the_asks_level_by_level_as_taker() -> None:
    harness = booked()
    order = harness.submit(BUY, "3")

    harness.level(BUY, 99.98, 1.0)  # the next item: the order meets the book

    assert harness.fills(order) == [(D("100.02"), D("1.5"), TAKER), (D("100.03"), D("1.5"), TAKER)]
    assert harness.venue.statistics().orders_filled == 1


def test_marketable_limit_sell_stops_at_its_price_and_rests_the_rest() -> None:
    harness = booked()
    order = harness.submit(SELL, "5", "99.99")

    harness.level(SELL, 100.06, 1.0)

    assert harness.fills(order) == [(D("100.00"), D("1.0"), TAKER), (D("99.99"), D("2.0"), TAKER)]
    assert harness.venue.working_order_ids() == [order]


def test_market_order_larger_than_the_book_fills_partially_and_keeps_working() -> None:
    harness = booked()
    order = harness.submit(BUY, "10")

    harness.level(BUY, 99.98, 1.0)

    assert sum(quantity for _, quantity, _ in harness.fills(order)) == D("5.5")
    assert harness.venue.working_order_ids() == [order]
    harness.level(SELL, 100.10, 2.0)  # new liquidity: the remainder walks again
    assert harness.fills(order)[-1] == (D("100.10"), D("2.0"), TAKER)


def test_ioc_takes_what_is_there_and_the_remainder_is_canceled() -> None:
    harness = booked()
    order = harness.submit(BUY, "2", "100.02", time_in_force=TimeInForce.IOC)

    harness.level(BUY, 99.98, 1.0)

    assert harness.fills(order) == [(D("100.02"), D("1.5"), TAKER)]
    assert harness.canceled() == [order]


def test_fok_fills_nothing_when_the_levels_within_its_price_are_short() -> None:
    harness = booked()
    short = harness.submit(BUY, "5", "100.03", time_in_force=TimeInForce.FOK)
    enough = harness.submit(BUY, "4.5", "100.03", time_in_force=TimeInForce.FOK)

    harness.level(BUY, 99.98, 1.0)

    assert harness.fills(short) == []
    assert harness.fills(enough) == [(D("100.02"), D("1.5"), TAKER),
                                     (D("100.03"), D("3.0"), TAKER)]
    assert harness.canceled() == [short]


def test_liquidity_we_took_is_gone_until_the_level_changes() -> None:
    harness = booked()
    first = harness.submit(BUY, "1")

    second = harness.submit(BUY, "1")  # the asks are unchanged: 100.02 has 0.5 left for us

    assert harness.fills(first) == [(D("100.02"), D("1.0"), TAKER)]
    assert harness.fills(second) == [(D("100.02"), D("0.5"), TAKER),
                                      (D("100.03"), D("0.5"), TAKER)]
    harness.level(SELL, 100.02, 2.0)  # the feed changes the level: it moved on
    third = harness.submit(BUY, "1")
    assert harness.fills(third) == [(D("100.02"), D("1.0"), TAKER)]


def test_resting_orders_share_the_book_in_price_then_time_priority() -> None:
    harness = booked()
    early = harness.submit(SELL, "1", "100.02")  # behind nothing of ours
    better = harness.submit(SELL, "1", "100.01")
    same_price_later = harness.submit(SELL, "1", "100.01")

    harness.level(BUY, 100.03, 1.5)  # bids through all three

    assert harness.fills(better) == [(D("100.01"), D("1.0"), MAKER)]
    assert harness.fills(same_price_later) == [(D("100.01"), D("0.5"), MAKER)]
    assert harness.fills(early) == []


def test_an_order_meets_the_book_when_accepted() -> None:
    harness = booked()

    order = harness.submit(BUY, "1", "100.02")

    assert harness.fills(order) == [(D("100.02"), D("1.0"), TAKER)]
    assert harness.sent.index(next(m for m in harness.sent if type(m) is OrderFilled)) == 1


def test_a_mid_message_delta_matches_nothing() -> None:
    harness = booked()
    harness.feed(delta(BUY, BookAction.CLEAR, last=False))
    order = harness.submit(BUY, "1")  # the book is empty: nothing to take yet

    harness.feed(delta(SELL, BookAction.ADD, 101.0, 1.0, last=False))

    assert harness.fills(order) == []
    harness.feed(delta(SELL, BookAction.ADD, 100.5, 1.0))
    assert harness.fills(order) == [(D("100.50"), D("1.0"), TAKER)]


def test_quotes_do_not_fill_book_orders_of_an_instrument_with_a_book() -> None:
    harness = booked()
    order = harness.submit(BUY, "1", "99.00")

    harness.feed(QuoteTick(instrument_id=INSTRUMENT_ID, bid_price=98.0, ask_price=98.5,
                           bid_size=9.0, ask_size=9.0, ts_event=0, ts_init=0))

    assert harness.fills(order) == []


# -- resting -----------------------------------------------------------------------------


def test_resting_buy_fills_only_when_a_trade_goes_through_its_price() -> None:
    harness = booked()
    order = harness.submit(BUY, "2", "100.00")
    harness.level(BUY, 99.98, 1.0)  # rests: its queue is unknown

    harness.trade(100.00, 5.0, SELL)
    assert harness.fills(order) == []
    harness.trade(99.99, 0.5, SELL)

    assert harness.fills(order) == [(D("100.00"), D("0.5"), MAKER)]


def test_resting_sell_fills_when_bids_move_through_its_price() -> None:
    harness = booked()
    order = harness.submit(SELL, "3", "100.02")
    harness.level(BUY, 99.98, 1.0)

    harness.level(BUY, 100.02, 0.7)  # locked at its price: not through
    assert harness.fills(order) == []
    harness.level(BUY, 100.04, 1.2)

    assert harness.fills(order) == [(D("100.02"), D("1.2"), MAKER)]


def test_queue_mode_fills_at_the_price_once_the_queue_ahead_is_traded() -> None:
    harness = booked(SimVenueConfig(resting_fills="queue"))
    order = harness.submit(BUY, "2", "99.99")
    harness.level(BUY, 99.98, 1.0)  # rests behind 2.0 at 99.99

    harness.trade(99.99, 1.5, SELL)  # 0.5 ahead now
    assert harness.fills(order) == []
    harness.trade(99.99, 0.5, BUY)  # a buyer at 99.99 does not trade against the bids
    harness.trade(99.99, 1.2, SELL)

    assert harness.fills(order) == [(D("99.99"), D("0.7"), MAKER)]


def test_queue_mode_size_removed_from_the_level_shrinks_the_queue_ahead() -> None:
    harness = booked(SimVenueConfig(resting_fills="queue"))
    order = harness.submit(BUY, "1", "99.99")
    harness.level(BUY, 99.98, 1.0)

    harness.level(BUY, 99.99, 0.4)  # 1.6 canceled: at most 0.4 is ahead now
    harness.trade(99.99, 1.0, None)

    assert harness.fills(order) == [(D("99.99"), D("0.6"), MAKER)]


def test_queue_mode_fills_against_a_locked_book_once_nothing_is_ahead() -> None:
    harness = booked(SimVenueConfig(resting_fills="queue"))
    order = harness.submit(BUY, "1", "100.01")  # a new level inside the spread: none ahead
    harness.level(BUY, 99.98, 1.0)

    harness.level(SELL, 100.01, 0.3)

    assert harness.fills(order) == [(D("100.01"), D("0.3"), MAKER)]


# -- snapshots and determinism -----------------------------------------------------------


def scenario(harness: Harness) -> None:
    harness.submit(BUY, "2", "100.00")
    harness.submit(SELL, "1")
    harness.level(BUY, 99.98, 1.0)
    harness.trade(99.99, 0.7, SELL)
    harness.level(SELL, 99.99, 0.8)


def test_book_matching_state_survives_a_venue_snapshot() -> None:
    original = booked(SimVenueConfig(resting_fills="queue"))
    scenario(original)
    encoded = msgspec.msgpack.encode(original.venue.snapshot_state())
    restored = Harness(SimVenueConfig(resting_fills="queue"))

    restored.venue.restore_state(msgspec.msgpack.decode(encoded, type=SimVenueSnapshot))
    restored.ts = original.ts
    original.sent.clear()
    for harness in (original, restored):
        harness.trade(99.98, 2.0, SELL)

    assert restored.fills() == original.fills() != []
    assert restored.venue.snapshot_state() == original.venue.snapshot_state()


def test_two_runs_of_one_scenario_send_identical_events() -> None:
    runs = []
    fills = []
    for _ in range(2):
        harness = booked(SimVenueConfig(resting_fills="queue"))
        scenario(harness)
        runs.append(msgspec.msgpack.encode(harness.sent))
        fills.append(len(harness.fills()))

    assert runs[0] == runs[1]
    assert fills[0] == fills[1] == 3


# -- property: no fill exceeds the liquidity the data showed ------------------------------

levels = st.lists(st.tuples(st.integers(1, 20), st.integers(1, 5_000)), min_size=0, max_size=6,
                  unique_by=lambda level: level[0])
orders = st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 8_000),
                            st.one_of(st.none(), st.integers(-10, 30)),
                            st.sampled_from(list(TimeInForce)[:3])), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(bids=levels, asks=levels, order_list=orders)
def test_fills_on_one_book_never_exceed_what_each_level_shows(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]],
    order_list: list[tuple[OrderSide, int, int | None, TimeInForce]],
) -> None:
    # bids at 100.00 - n ticks, asks at 100.00 + n ticks, sizes in lots of 0.001
    bid_levels = [(round(100.0 - tick / 100, 2), lots / 1000) for tick, lots in bids]
    ask_levels = [(round(100.0 + tick / 100, 2), lots / 1000) for tick, lots in asks]
    harness = Harness()
    harness.book(bid_levels, ask_levels)
    for side, lots, offset, time_in_force in order_list:
        price = None if offset is None else f"{100 + offset / 100:.2f}"
        harness.submit(side, str(D(lots) / 1000), price, time_in_force=time_in_force)

    harness.trade(100.0, 0.0)  # one item: every order meets the same, unchanged book

    shown = {(SELL, D(f"{p:.2f}")): D(str(s)) for p, s in ask_levels}
    shown |= {(BUY, D(f"{p:.2f}")): D(str(s)) for p, s in bid_levels}
    took: dict[tuple[OrderSide, D], D] = {}
    for message in harness.sent:
        if type(message) is OrderFilled:
            level = (SELL if message.side is BUY else BUY, message.last_price)
            took[level] = took.get(level, D(0)) + message.last_quantity
    for level, quantity in took.items():
        assert quantity <= shown[level]


def test_a_resting_order_modified_through_the_touch_takes_again() -> None:
    harness = booked()
    order = harness.submit(BUY, "1", "99.50")
    harness.level(BUY, 99.98, 1.0)

    harness.bus.send(venue_endpoint("SIM"), ModifyOrder(
        strategy_id="s1", client_order_id=order, instrument_id=INSTRUMENT_ID, price=D("100.02"),
        ts_event=harness.ts, ts_init=harness.ts))
    harness.level(BUY, 99.96, 1.0)

    assert harness.fills(order) == [(D("100.02"), D("1.0"), TAKER)]


# -- reduce-only against the book --------------------------------------------------------


def long_position(harness: Harness, quantity: str) -> None:
    """Buy `quantity` at market (it takes from the asks on the next item)."""
    harness.submit(BUY, quantity)
    harness.level(BUY, 99.98, 1.0)
    assert harness.venue.statistics().orders_filled >= 1


def test_a_reduce_only_order_walking_the_book_never_flips_the_position() -> None:
    harness = booked()
    long_position(harness, "1")
    close = harness.submit(SELL, "5", reduce_only=True)  # faces a long of 1

    harness.level(BUY, 99.96, 1.0)

    assert sum(quantity for _, quantity, _ in harness.fills(close)) == D("1")
    assert harness.canceled() == [close]  # the remainder would have opened a short
    assert harness.venue.statistics().orders_working == 0


def test_a_reduce_only_order_meeting_the_book_on_acceptance_is_capped_too() -> None:
    harness = booked()
    long_position(harness, "2")
    close = harness.submit(SELL, "3", "99.97", reduce_only=True)  # marketable at once

    assert sum(quantity for _, quantity, _ in harness.fills(close)) == D("2")
    harness.level(BUY, 99.96, 1.0)  # the next item settles it
    assert harness.canceled() == [close]


def test_a_reduce_only_fok_larger_than_the_position_fills_nothing_against_the_book() -> None:
    harness = booked()
    long_position(harness, "1")
    close = harness.submit(SELL, "2", "99.97", reduce_only=True,
                           time_in_force=TimeInForce.FOK)

    harness.level(BUY, 99.96, 1.0)

    assert harness.fills(close) == []
    assert harness.canceled() == [close]


def test_two_reduce_only_orders_on_one_item_close_the_position_once() -> None:
    harness = booked()
    long_position(harness, "1")
    first = harness.submit(SELL, "1", "100.01", reduce_only=True)  # both rest: the bids
    second = harness.submit(SELL, "1", "100.01", reduce_only=True)  # are below them

    harness.level(BUY, 100.02, 5.0)  # bids through both: one item fills them in turn

    sold = sum(quantity for cid in (first, second) for _, quantity, _ in harness.fills(cid))
    assert sold == D("1")
    assert harness.fills(first) == [(D("100.01"), D("1.000"), MAKER)]
    assert harness.canceled() == [second]


def test_a_resting_reduce_only_order_is_canceled_once_other_fills_closed_the_position() -> None:
    harness = booked()
    long_position(harness, "1")
    resting = harness.submit(SELL, "1", "100.10", reduce_only=True)  # rests above the asks
    harness.level(BUY, 99.96, 1.0)
    harness.submit(SELL, "1")  # closes the long
    harness.level(BUY, 99.95, 1.0)

    harness.level(SELL, 100.11, 1.0)  # any later item

    assert harness.fills(resting) == []
    assert resting in harness.canceled()


@settings(max_examples=150, deadline=None)
@given(bids=levels, asks=levels, opening=st.integers(-4_000, 4_000),
       order_list=st.lists(st.tuples(st.booleans(), orders.map(lambda items: items[0])),
                           min_size=1, max_size=6),
       moves=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(-10, 10),
                                st.integers(0, 8_000)), max_size=4))
def test_reduce_only_orders_against_the_book_never_flip_or_increase_a_position(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], opening: int,
    order_list: list[tuple[bool, tuple[OrderSide, int, int | None, TimeInForce]]],
    moves: list[tuple[OrderSide, int, int]],
) -> None:
    harness = Harness()
    harness.book([(round(100.0 - tick / 100, 2), lots / 1000) for tick, lots in bids],
                 [(round(100.0 + tick / 100, 2), lots / 1000) for tick, lots in asks])
    if opening:  # a position to face, from whatever the book gives a market order
        harness.submit(BUY if opening > 0 else SELL, str(D(abs(opening)) / 1000))
        harness.trade(100.0, 0.0)
    reduce_only: set[str] = set()
    for is_reduce_only, (side, lots, offset, time_in_force) in order_list:
        price = None if offset is None else f"{100 + offset / 100:.2f}"
        client_order_id = harness.submit(side, str(D(lots) / 1000), price,
                                         time_in_force=time_in_force,
                                         reduce_only=is_reduce_only)
        if is_reduce_only:
            reduce_only.add(client_order_id)
    for side, tick, lots in moves:  # the book moves: resting orders may fill
        harness.level(side, round(100.0 + tick / 100, 2), lots / 1000)

    position = D(0)
    for message in harness.sent:
        if type(message) is OrderFilled:
            before = position
            position += message.last_quantity if message.side is BUY else -message.last_quantity
            if message.client_order_id in reduce_only:
                assert before != 0 and abs(position) < abs(before)  # it reduced
                assert position == 0 or (position > 0) is (before > 0)  # never flipped


# -- max_volume_fraction against the book ------------------------------------------------


def test_a_volume_cap_takes_a_fraction_of_each_level_and_the_rest_keeps_working() -> None:
    harness = booked(SimVenueConfig(max_volume_fraction=0.5))
    order = harness.submit(BUY, "3")  # asks: 1.5 @ 100.02, 3.0 @ 100.03, 1.0 @ 100.05

    assert harness.fills(order) == [(D("100.02"), D("0.750"), TAKER),
                                    (D("100.03"), D("1.500"), TAKER),
                                    (D("100.05"), D("0.500"), TAKER)]
    assert harness.venue.working_order_ids() == [order]
    harness.level(BUY, 99.98, 1.0)  # the levels did not change: their share is taken
    assert len(harness.fills(order)) == 3
    harness.level(SELL, 100.03, 2.0)  # the feed changed a level: half of it again
    assert harness.fills(order)[-1] == (D("100.03"), D("0.250"), TAKER)


def test_a_volume_cap_leaves_a_fok_short_and_it_fills_nothing() -> None:
    harness = booked(SimVenueConfig(max_volume_fraction=0.5))
    order = harness.submit(BUY, "1", "100.02", time_in_force=TimeInForce.FOK)  # 0.75 there

    assert harness.fills(order) == []
    assert harness.canceled() == [order]


def test_a_volume_cap_takes_a_fraction_of_a_trade_through_a_resting_order() -> None:
    harness = booked(SimVenueConfig(max_volume_fraction=0.25))
    order = harness.submit(BUY, "2", "99.95")  # rests below the bids

    harness.trade(99.94, 2.0)  # a trade through its price

    assert harness.fills(order) == [(D("99.95"), D("0.500"), MAKER)]


# -- stops against the book ----------------------------------------------------------------


def stop(harness: Harness, side: OrderSide, quantity: str, trigger: str,
         price: str | None = None, **overrides: Any) -> str:
    return harness.submit(side, quantity, price, trigger_price=D(trigger),
                          order_type=OrderType.STOP_MARKET if price is None
                          else OrderType.STOP_LIMIT, **overrides)


def test_a_sell_stop_triggers_on_the_touch_and_walks_the_bids() -> None:
    harness = booked()  # bids 1.0 @ 100.00, 2.0 @ 99.99, 4.0 @ 99.97
    order = stop(harness, SELL, "3", "99.99")
    harness.level(SELL, 100.06, 1.0)  # the touch is above the trigger: nothing
    assert harness.fills(order) == []

    harness.level(BUY, 100.00, 0.0)  # the best bid falls to the trigger, by book data alone

    assert harness.fills(order) == [(D("99.99"), D("2.0"), TAKER), (D("99.97"), D("1.0"), TAKER)]


def test_a_stop_in_a_gap_fills_at_the_first_price_the_book_has() -> None:
    harness = booked()
    order = stop(harness, SELL, "1", "99.99")

    harness.book([(99.90, 5.0)], [(99.95, 5.0)])  # the market gapped below the trigger

    assert harness.fills(order) == [(D("99.90"), D("1.0"), TAKER)]


def test_a_buy_stop_triggered_by_a_trade_takes_from_the_asks() -> None:
    harness = booked()  # asks 1.5 @ 100.02, 3.0 @ 100.03
    order = stop(harness, BUY, "2", "100.03", trigger_type=TriggerType.LAST)
    harness.level(BUY, 100.01, 1.0)  # a book update: LAST does not watch the book
    assert harness.fills(order) == []

    harness.trade(100.03, 0.5)

    assert harness.fills(order) == [(D("100.02"), D("1.5"), TAKER), (D("100.03"), D("0.5"), TAKER)]


def test_a_stop_limit_triggers_on_the_book_then_takes_up_to_its_limit_and_rests() -> None:
    harness = booked()
    order = stop(harness, SELL, "3", "100.00", price="99.99")

    harness.level(BUY, 100.00, 0.5)  # the best bid is at the trigger (an update, not a cut)

    triggered = [m for m in harness.sent if type(m) is OrderTriggered]
    assert [m.client_order_id for m in triggered] == [order]
    assert harness.fills(order) == [(D("100.00"), D("0.5"), TAKER), (D("99.99"), D("2.0"), TAKER)]
    assert harness.venue.working_order_ids() == [order]  # the rest of it rests at 99.99
