"""MarketMaker on hand-built L2 books, through the graph (cache, SimVenue, risk, portfolio).

Book: 0.01 tick; the quotes go one tick either side of the mid, so on a bid 99.98 /
ask 100.02 book (mid 100.00) they are 99.99 and 100.01, inside the spread.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import BookAction, OrderSide
from engine.domain.order import Order
from engine.events.market import BookDelta
from engine.graph import GraphSnapshot, TradingGraph, topic_for
from engine.testing import INSTRUMENT_ID, make_instrument, make_portfolio_config
from strategies.market_maker import MarketMaker, MarketMakerConfig

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
START_NS = 1_672_531_200_000_000_000


def delta(side: OrderSide, action: BookAction, price: float = 0.0, size: float = 0.0, *,
          last: bool = True) -> BookDelta:
    return BookDelta(instrument_id=INSTRUMENT_ID, side=side, action=action, price=price,
                     size=size, last=last, ts_event=0, ts_init=0)


def snapshot(bid: float, ask: float) -> list[BookDelta]:
    return [delta(BUY, BookAction.CLEAR, last=False),
            delta(BUY, BookAction.ADD, bid, 1.0, last=False), delta(SELL, BookAction.ADD, ask, 1.0)]


class Session:
    """A graph on a held LiveClock (snapshottable), fed one delta a millisecond."""

    def __init__(self, **config: Any) -> None:
        self.clock = LiveClock(origin_ns=START_NS)
        self.clock.hold(START_NS)
        self.ts = START_NS
        self.graph = TradingGraph(
            clock=self.clock, instruments=[make_instrument()],
            portfolio=make_portfolio_config(starting_balances={"USDT": D(100_000), "BTC": D(1)}),
            risk=RiskConfig())
        self.venue = SimVenue(SimVenueConfig(), self.graph.instruments, cache=self.graph.cache)
        self.graph.add_venue(self.venue)
        fields: dict[str, Any] = {"instrument_id": INSTRUMENT_ID, "quantity": D("0.5"),
                                  "max_inventory": D("0.5")}
        fields.update(config)
        self.strategy = MarketMaker("mm", MarketMakerConfig(**fields))
        self.graph.add_strategy(self.strategy)

    def start(self) -> None:
        self.graph.start()

    def feed(self, deltas: list[BookDelta]) -> None:
        for item in deltas:
            self.ts += 1_000_000
            self.clock.hold(self.ts)
            item = msgspec.structs.replace(item, ts_event=self.ts, ts_init=self.ts)
            self.graph.process(item, topic_for(item))

    def quotes(self) -> list[tuple[OrderSide, Decimal | None]]:
        orders: list[Order] = self.strategy.open_orders(INSTRUMENT_ID)
        return sorted((order.side, order.price) for order in orders)


def started(**config: Any) -> Session:
    session = Session(**config)
    session.start()
    return session


def test_market_maker_quotes_one_tick_either_side_of_the_mid() -> None:
    session = started()

    session.feed(snapshot(99.98, 100.02))

    assert session.quotes() == [(BUY, D("99.99")), (SELL, D("100.01"))]


def test_market_maker_ignores_deltas_in_the_middle_of_a_message() -> None:
    session = started()

    session.feed(snapshot(99.98, 100.02)[:2])

    assert session.quotes() == []


def test_market_maker_keeps_its_quotes_while_the_mid_stays_within_the_band() -> None:
    session = started()
    session.feed(snapshot(99.98, 100.02))

    session.feed([delta(SELL, BookAction.ADD, 100.01, 1.0)])  # mid 99.995: half a tick

    assert session.quotes() == [(BUY, D("99.99")), (SELL, D("100.01"))]
    session.feed([delta(SELL, BookAction.DELETE, 100.01), delta(SELL, BookAction.DELETE, 100.02),
                  delta(SELL, BookAction.ADD, 100.12, 1.0)])  # mid 100.05: five ticks up
    assert session.quotes() == [(BUY, D("100.04")), (SELL, D("100.06"))]


def test_market_maker_stops_bidding_at_its_inventory_limit() -> None:
    session = started()
    session.feed(snapshot(99.98, 100.02))

    session.feed([delta(SELL, BookAction.ADD, 99.97, 2.0)])  # asks through our bid: filled

    assert session.graph.portfolio.net_quantity(INSTRUMENT_ID, "mm") == D("0.5")
    assert [side for side, _ in session.quotes()] == [SELL]


def test_market_maker_pulls_its_quotes_from_a_one_sided_book() -> None:
    session = started()
    session.feed(snapshot(99.98, 100.02))

    session.feed([delta(SELL, BookAction.DELETE, 100.02)])

    assert session.quotes() == []


def test_market_maker_config_refuses_a_zero_half_spread() -> None:
    with pytest.raises(ValueError, match="half_spread_ticks 0"):
        MarketMakerConfig(instrument_id=INSTRUMENT_ID, half_spread_ticks=0)


def path() -> list[BookDelta]:
    """A book that drifts up through the quotes and back: fills on both sides."""
    deltas = snapshot(99.98, 100.02)
    for step in range(1, 12):
        deltas += [delta(SELL, BookAction.ADD, round(100.02 - step * 0.01, 2), 0.3),
                   delta(BUY, BookAction.ADD, round(99.98 - step * 0.01, 2), 0.4)]
    for step in range(1, 12):
        deltas += [delta(BUY, BookAction.ADD, round(99.87 + step * 0.02, 2), 0.6),
                   delta(SELL, BookAction.ADD, round(99.91 + step * 0.02, 2), 0.2)]
    return deltas


@pytest.mark.parametrize("k", [3, 20, 40])
def test_a_restart_from_a_snapshot_restores_books_and_quotes_exactly(k: int) -> None:
    deltas = path()
    full = started()
    full.feed(deltas)
    partial = started()
    partial.feed(deltas[:k])
    assert partial.graph.unsnapshottable() is None
    encoded = msgspec.msgpack.encode(partial.graph.snapshot())

    restored = Session()
    restored.clock.hold(partial.ts)
    restored.ts = partial.ts
    restored.graph.restore(msgspec.msgpack.decode(encoded, type=GraphSnapshot))
    restored.feed(deltas[k:])

    assert restored.graph.snapshot().books == full.graph.snapshot().books != []
    assert restored.venue.statistics() == full.venue.statistics()
    assert full.venue.statistics().fills > 0
    assert (msgspec.msgpack.encode(restored.graph.snapshot())
            == msgspec.msgpack.encode(full.graph.snapshot()))


def test_a_snapshot_without_books_still_decodes() -> None:
    session = started()
    session.feed(snapshot(99.98, 100.02))
    fields = msgspec.structs.asdict(session.graph.snapshot())
    del fields["books"]

    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(fields), type=GraphSnapshot)

    assert decoded.books == []
