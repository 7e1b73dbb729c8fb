"""Properties of SimVenue fills over random bars and random limit orders (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import event, given, settings, strategies as st

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderType, TimeInForce
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BarType, Instrument
from engine.events.orders import SubmitOrder
from engine.instruments import InstrumentRegistry
from engine.topics import ORDERS_PROCESS, venue_endpoint

MINUTE = 60_000_000_000
INSTRUMENT = Instrument(
    instrument_id="BTC/USDT.SIM", symbol="BTC/USDT", venue="SIM", base_currency="BTC",
    quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
    maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.001"), ts_event=0, ts_init=0,
)
BAR_TYPE = BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")

# Bars in integer cents (prices on the increment): open, close, and how far high and low
# reach beyond them.
bar_cents = st.tuples(
    st.integers(9_800, 10_200), st.integers(9_800, 10_200), st.integers(0, 300),
    st.integers(0, 300), st.integers(0, 50),
)
limit_orders = st.tuples(
    st.integers(0, 9),  # submitted after this many bars
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.integers(9_500, 10_500),  # limit price in cents
    st.booleans(),  # post-only
    st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    st.integers(1, 3_000),  # quantity in size increments
)


@settings(derandomize=True, deadline=None, max_examples=200)
@given(
    bars=st.lists(bar_cents, min_size=1, max_size=10),
    orders=st.lists(limit_orders, min_size=1, max_size=6),
    fraction=st.sampled_from([None, 0.1, 0.5]),
)
def test_limit_fills_stay_inside_the_bar_and_never_beat_the_limit_against_the_trader(
    bars: list[tuple[int, int, int, int, int]],
    orders: list[tuple[int, OrderSide, int, bool, TimeInForce, int]],
    fraction: float | None,
) -> None:
    bus = MessageBus()
    clock = SimClock(0)
    current: list[Bar] = []
    fills: list[tuple[Bar, OrderFilled]] = []

    def record(message: object) -> None:
        if isinstance(message, OrderFilled):
            fills.append((current[-1], message))

    bus.register_endpoint(ORDERS_PROCESS, record)
    venue = SimVenue(SimVenueConfig(max_volume_fraction=fraction), InstrumentRegistry([INSTRUMENT]))
    venue.register(bus, clock)
    venue.start()
    submitted: dict[str, tuple[OrderSide, Decimal, Decimal]] = {}

    for index, (open_c, close_c, up_c, down_c, volume) in enumerate(bars):
        for number, (after, side, price_c, post_only, tif, lots) in enumerate(orders):
            if after == index:
                client_order_id = f"O-{number}"
                price = Decimal(price_c) / 100
                quantity = Decimal(lots) * INSTRUMENT.size_increment
                submitted[client_order_id] = (side, price, quantity)
                bus.send(venue_endpoint("SIM"), SubmitOrder(
                    strategy_id="s", client_order_id=client_order_id,
                    instrument_id=INSTRUMENT.instrument_id, side=side,
                    order_type=OrderType.LIMIT, quantity=quantity, price=price,
                    post_only=post_only, time_in_force=tif, ts_event=clock.timestamp_ns(),
                    ts_init=clock.timestamp_ns(),
                ))
        ts = (index + 1) * MINUTE
        clock.advance_to(ts)
        bar = Bar(
            bar_type=BAR_TYPE, open=open_c / 100, close=close_c / 100,
            high=(max(open_c, close_c) + up_c) / 100, low=(min(open_c, close_c) - down_c) / 100,
            volume=float(volume), ts_event=ts, ts_init=ts,
        )
        current.append(bar)
        venue.process_market_data(bar)

    event("some fills" if fills else "no fills")
    filled: dict[str, Decimal] = {}
    for bar, fill in fills:
        side, limit, quantity = submitted[fill.client_order_id]
        assert Decimal(repr(bar.low)) <= fill.last_price <= Decimal(repr(bar.high))
        if side is OrderSide.BUY:
            assert fill.last_price <= limit
        else:
            assert fill.last_price >= limit
        assert fill.last_quantity > 0
        filled[fill.client_order_id] = filled.get(fill.client_order_id, Decimal(0)) + (
            fill.last_quantity
        )
        assert filled[fill.client_order_id] <= quantity
    statistics = venue.statistics()
    assert statistics.fills == len(fills)
    assert statistics.orders_accepted + statistics.orders_rejected == len(submitted)
