"""SimVenue on a real MessageBus and SimClock, with a recording stub at ORDERS_PROCESS."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig, SimVenueStatistics
from engine.actors.retention import RetentionConfig
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BarType, Instrument, QuoteTick, TradeTick
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.instruments import InstrumentRegistry
from engine.topics import ORDERS_PROCESS, venue_endpoint

MINUTE = 60_000_000_000
T0 = 1_000 * MINUTE
INSTRUMENT_ID = "BTC/USDT.SIM"
BAR_TYPE = BarType(instrument_id=INSTRUMENT_ID, timeframe="1m")
D = Decimal


class Harness:
    """A venue on a real bus and clock; `sent` is what it sent to the order manager."""

    def __init__(
        self,
        config: SimVenueConfig | None = None,
        *,
        instruments: list[Instrument] | None = None,
        cache: MarketCache | None = None,
    ) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(T0)
        self.sent: list[Message] = []
        self.bus.register_endpoint(ORDERS_PROCESS, self.sent.append)
        registry = InstrumentRegistry(instruments or [make_instrument()])
        self.venue = SimVenue(config or SimVenueConfig(), registry, cache=cache)
        self.venue.register(self.bus, self.clock)
        self.venue.start()

    def submit(self, **overrides: Any) -> None:
        now = self.clock.timestamp_ns()
        fields: dict[str, Any] = {
            "strategy_id": "s1", "client_order_id": "O-1", "instrument_id": INSTRUMENT_ID,
            "side": OrderSide.BUY, "order_type": OrderType.MARKET, "quantity": D(1),
            "ts_event": now, "ts_init": now,
        }
        fields.update(overrides)
        self.bus.send(venue_endpoint("SIM"), SubmitOrder(**fields))

    def cancel(self, client_order_id: str = "O-1") -> None:
        now = self.clock.timestamp_ns()
        self.bus.send(venue_endpoint("SIM"), CancelOrder(
            strategy_id="s1", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
            ts_event=now, ts_init=now,
        ))

    def modify(self, client_order_id: str = "O-1", **fields: Any) -> None:
        now = self.clock.timestamp_ns()
        self.bus.send(venue_endpoint("SIM"), ModifyOrder(
            strategy_id="s1", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
            ts_event=now, ts_init=now, **fields,
        ))

    def bar(self, minute: int, open: float, high: float, low: float, close: float,
            volume: float = 100.0) -> None:
        """Hand the venue the bar closing `minute` minutes after T0, as the kernel does."""
        ts = T0 + minute * MINUTE
        self.clock.advance_to(ts)
        self.venue.process_market_data(Bar(bar_type=BAR_TYPE, open=open, high=high, low=low,
                                      close=close, volume=volume, ts_event=ts, ts_init=ts))

    def take(self) -> list[Message]:
        sent, self.sent[:] = list(self.sent), []
        return sent

    def statistics(self) -> SimVenueStatistics:
        return self.venue.statistics()


def make_instrument(**overrides: Any) -> Instrument:
    fields: dict[str, Any] = {
        "instrument_id": INSTRUMENT_ID, "symbol": "BTC/USDT", "venue": "SIM",
        "base_currency": "BTC", "quote_currency": "USDT", "price_increment": D("0.01"),
        "size_increment": D("0.001"), "maker_fee": D("0.0002"), "taker_fee": D("0.001"),
        "ts_event": 0, "ts_init": 0,
    }
    fields.update(overrides)
    return Instrument(**fields)


def kinds(messages: list[Message]) -> list[type[Message]]:
    return [type(message) for message in messages]


# -- accept and fill ----------------------------------------------------------------------


def test_market_order_accepted_then_filled_at_next_bar_open_with_exact_fee() -> None:
    harness = Harness()

    harness.submit()
    accepted = harness.take()
    harness.bar(1, 30000.12, 30010.0, 29990.0, 30005.0)
    filled = harness.take()

    assert accepted == [OrderAccepted(strategy_id="s1", client_order_id="O-1",
                                      instrument_id=INSTRUMENT_ID, venue_order_id="SIM-1",
                                      ts_event=T0, ts_init=T0)]
    assert filled == [OrderFilled(
        strategy_id="s1", client_order_id="O-1", instrument_id=INSTRUMENT_ID,
        venue_order_id="SIM-1", trade_id="SIM-T-1", side=OrderSide.BUY, last_quantity=D(1),
        last_price=D("30000.12"), commission=D("30.00012"), commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER, ts_event=T0, ts_init=T0 + MINUTE,
    )]
    assert harness.statistics().orders_filled == 1
    assert harness.statistics().orders_working == 0


def test_bar_closing_at_acceptance_time_does_not_fill() -> None:
    harness = Harness()
    harness.submit()
    harness.take()

    harness.bar(0, 100.0, 110.0, 90.0, 105.0)

    assert harness.take() == []
    assert harness.statistics().orders_working == 1


def test_limit_buy_intrabar_fills_at_limit_as_maker_at_bar_close() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("95.00"))
    harness.take()

    harness.bar(1, 100.0, 110.0, 99.0, 105.0)
    harness.bar(2, 100.0, 110.0, 90.0, 105.0)
    sent = harness.take()

    assert kinds(sent) == [OrderFilled]
    fill = sent[0]
    assert isinstance(fill, OrderFilled)
    assert (fill.last_price, fill.liquidity_side) == (D("95.00"), LiquiditySide.MAKER)
    assert fill.commission == D("0.0002") * D("95.00")
    assert fill.ts_event == T0 + 2 * MINUTE


def test_orders_fill_in_acceptance_order_within_a_bar() -> None:
    harness = Harness()
    harness.submit(client_order_id="A", order_type=OrderType.LIMIT, price=D("95.00"))
    harness.submit(client_order_id="B")
    accepted = harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    sent = harness.take()

    assert [m.venue_order_id for m in accepted if isinstance(m, OrderAccepted)] == [
        "SIM-1", "SIM-2"]
    assert [(m.client_order_id, m.trade_id) for m in sent if isinstance(m, OrderFilled)] == [
        ("A", "SIM-T-1"), ("B", "SIM-T-2")]


def test_stop_limit_sends_triggered_then_fills_at_trigger_price() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.STOP_LIMIT, trigger_price=D("105.00"),
                   price=D("106.00"))
    harness.take()

    harness.bar(1, 100.0, 110.0, 99.0, 108.0)
    sent = harness.take()

    assert kinds(sent) == [OrderTriggered, OrderFilled]
    fill = sent[1]
    assert isinstance(fill, OrderFilled)
    assert fill.last_price == D("105.00")
    assert harness.statistics().orders_triggered == 1


def test_stop_limit_not_marketable_rests_and_fills_later_as_limit() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.STOP_LIMIT, trigger_price=D("105.00"),
                   price=D("104.00"))
    harness.take()

    harness.bar(1, 100.0, 110.0, 99.0, 108.0)
    after_trigger = harness.take()
    harness.bar(2, 108.0, 109.0, 103.0, 104.0)
    after_dip = harness.take()

    assert kinds(after_trigger) == [OrderTriggered]
    assert kinds(after_dip) == [OrderFilled]
    assert isinstance(after_dip[0], OrderFilled)
    assert after_dip[0].last_price == D("104.00")


def test_trade_tick_fills_market_order_at_trade_price() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL)
    harness.take()

    harness.venue.process_market_data(TradeTick(instrument_id=INSTRUMENT_ID, price=101.5, size=3.0,
                                           ts_event=T0 + 5, ts_init=T0 + 5))
    sent = harness.take()

    assert isinstance(sent[0], OrderFilled)
    assert (sent[0].last_price, sent[0].ts_event) == (D("101.50"), T0 + 5)


def test_quote_tick_fills_market_buy_at_ask() -> None:
    harness = Harness()
    harness.submit()
    harness.take()

    harness.venue.process_market_data(QuoteTick(instrument_id=INSTRUMENT_ID, bid_price=99.5,
                                           ask_price=100.5, bid_size=1.0, ask_size=1.0,
                                           ts_event=T0 + 5, ts_init=T0 + 5))
    sent = harness.take()

    assert isinstance(sent[0], OrderFilled)
    assert sent[0].last_price == D("100.50")


def test_market_data_of_other_instrument_or_with_no_orders_sends_nothing() -> None:
    harness = Harness()
    other = BarType(instrument_id="ETH/USDT.SIM", timeframe="1m")

    harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    harness.submit()
    harness.take()
    harness.venue.process_market_data(Bar(bar_type=other, open=1.0, high=1.0, low=1.0, close=1.0,
                                     volume=1.0, ts_event=T0 + MINUTE, ts_init=T0 + MINUTE))

    assert harness.take() == []


# -- partial fills under the volume cap --------------------------------------------------------


def test_volume_cap_partial_fills_sum_to_order_quantity() -> None:
    harness = Harness(SimVenueConfig(max_volume_fraction=0.1))
    harness.submit(quantity=D("1.000"))
    harness.take()

    for minute in (1, 2, 3):
        harness.bar(minute, 100.0, 110.0, 90.0, 105.0, volume=4.0)
    fills = [m for m in harness.take() if isinstance(m, OrderFilled)]

    assert [f.last_quantity for f in fills] == [D("0.400"), D("0.400"), D("0.200")]
    assert sum(f.last_quantity for f in fills) == D("1.000")
    assert [f.trade_id for f in fills] == ["SIM-T-1", "SIM-T-2", "SIM-T-3"]
    statistics = harness.statistics()
    assert (statistics.fills, statistics.orders_filled, statistics.orders_working) == (3, 1, 0)


# -- time in force ---------------------------------------------------------------------------


def test_ioc_limit_not_filled_on_first_bar_is_canceled() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("80.00"),
                   time_in_force=TimeInForce.IOC)
    harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    sent = harness.take()
    harness.bar(2, 80.0, 80.0, 70.0, 75.0)

    assert kinds(sent) == [OrderCanceled]
    assert sent[0].ts_event == T0 + MINUTE
    assert harness.take() == []
    assert harness.statistics().orders_canceled == 1


def test_ioc_under_volume_cap_fills_part_and_cancels_the_rest() -> None:
    harness = Harness(SimVenueConfig(max_volume_fraction=0.1))
    harness.submit(order_type=OrderType.LIMIT, price=D("100.00"),
                   time_in_force=TimeInForce.IOC)
    harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0, volume=5.0)
    sent = harness.take()

    assert kinds(sent) == [OrderFilled, OrderCanceled]
    assert isinstance(sent[0], OrderFilled)
    assert sent[0].last_quantity == D("0.500")


def test_fok_only_partially_fillable_is_canceled_unfilled() -> None:
    harness = Harness(SimVenueConfig(max_volume_fraction=0.1))
    harness.submit(order_type=OrderType.LIMIT, price=D("100.00"),
                   time_in_force=TimeInForce.FOK)
    harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0, volume=5.0)

    assert kinds(harness.take()) == [OrderCanceled]
    assert harness.statistics().fills == 0


def test_gtd_order_expires_on_first_bar_closing_at_expiry() -> None:
    harness = Harness()
    expire_ns = T0 + 2 * MINUTE
    harness.submit(order_type=OrderType.LIMIT, price=D("50.00"),
                   time_in_force=TimeInForce.GTD, expire_ns=expire_ns)
    harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    first = harness.take()
    harness.bar(2, 50.0, 60.0, 40.0, 45.0)
    second = harness.take()

    assert first == []
    assert second == [OrderExpired(strategy_id="s1", client_order_id="O-1",
                                   instrument_id=INSTRUMENT_ID, ts_event=expire_ns,
                                   ts_init=T0 + 2 * MINUTE)]
    statistics = harness.statistics()
    assert (statistics.orders_expired, statistics.orders_working) == (1, 0)


# -- cancel and modify -----------------------------------------------------------------------


def test_cancel_working_order_sends_canceled_and_it_never_fills() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("95.00"))
    harness.take()

    harness.cancel()
    canceled = harness.take()
    harness.bar(1, 100.0, 110.0, 90.0, 105.0)

    assert kinds(canceled) == [OrderCanceled]
    assert harness.take() == []
    assert harness.statistics().orders_canceled == 1


@pytest.mark.parametrize("filled_first", [False, True])
def test_cancel_unknown_or_filled_order_is_rejected(filled_first: bool) -> None:
    harness = Harness()
    if filled_first:
        harness.submit()
        harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    harness.take()

    harness.cancel()
    sent = harness.take()

    assert kinds(sent) == [OrderCancelRejected]
    assert isinstance(sent[0], OrderCancelRejected)
    assert "'O-1': not working at venue SIM" in sent[0].reason
    assert harness.statistics().cancels_rejected == 1


def test_modify_price_updates_order_and_fills_at_new_price() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("80.00"))
    harness.take()

    harness.modify(price=D("95.00"), quantity=D("2"))
    updated = harness.take()
    harness.bar(1, 100.0, 110.0, 90.0, 105.0)
    filled = harness.take()

    assert updated == [OrderUpdated(strategy_id="s1", client_order_id="O-1",
                                    instrument_id=INSTRUMENT_ID, quantity=D("2"),
                                    price=D("95.00"), ts_event=T0, ts_init=T0)]
    assert isinstance(filled[0], OrderFilled)
    assert (filled[0].last_price, filled[0].last_quantity) == (D("95.00"), D("2"))
    assert harness.statistics().modifies_accepted == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"quantity": D("0.300")}, "quantity 0.300: not above the filled quantity 0.400"),
        ({"trigger_price": D("90.00")}, "trigger_price 90.00: a limit order has no trigger"),
        ({"price": D("95.001")}, "price 95.001: not a multiple of the price increment 0.01"),
    ],
)
def test_modify_invalid_change_is_rejected(fields: dict[str, Any], reason: str) -> None:
    harness = Harness(SimVenueConfig(max_volume_fraction=0.1))
    harness.submit(order_type=OrderType.LIMIT, price=D("100.00"))
    harness.bar(1, 100.0, 110.0, 90.0, 105.0, volume=4.0)  # fills 0.400 of 1
    harness.take()

    harness.modify(**fields)
    sent = harness.take()

    assert sent == [OrderModifyRejected(strategy_id="s1", client_order_id="O-1",
                                        instrument_id=INSTRUMENT_ID, reason=reason,
                                        ts_event=T0 + MINUTE, ts_init=T0 + MINUTE)]
    assert harness.statistics().modifies_rejected == 1


def test_modify_unknown_order_is_rejected() -> None:
    harness = Harness()

    harness.modify("nope", price=D("1.00"))

    assert kinds(harness.take()) == [OrderModifyRejected]


# -- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"instrument_id": "DOGE/USDT.SIM"},
         "instrument 'DOGE/USDT.SIM': not known to venue SIM"),
        ({"quantity": D(0)}, "quantity 0: must be > 0"),
        ({"quantity": D("-1")}, "quantity -1: must be > 0"),
        ({"quantity": D("0.0001")}, "quantity 0.0001: not a multiple of the size increment 0.001"),
        ({"order_type": OrderType.LIMIT}, "price None: a limit order needs one"),
        ({"order_type": OrderType.STOP_MARKET},
         "trigger_price None: a stop_market order needs one"),
        ({"order_type": OrderType.STOP_LIMIT, "price": D("1.00")},
         "trigger_price None: a stop_limit order needs one"),
        ({"post_only": True}, "post_only True: a market order cannot be post-only"),
        ({"time_in_force": TimeInForce.GTD}, "expire_ns None: a GTD order needs an expiry time"),
        ({"time_in_force": TimeInForce.GTD, "expire_ns": T0},
         f"expire_ns {T0}: not after the venue's time {T0}"),
    ],
)
def test_submit_invalid_order_is_rejected(overrides: dict[str, Any], reason: str) -> None:
    harness = Harness()

    harness.submit(**overrides)

    assert harness.take() == [OrderRejected(
        strategy_id="s1", client_order_id="O-1",
        instrument_id=overrides.get("instrument_id", INSTRUMENT_ID), reason=reason,
        ts_event=T0, ts_init=T0,
    )]
    statistics = harness.statistics()
    assert (statistics.orders_received, statistics.orders_rejected) == (1, 1)
    assert statistics.orders_accepted == 0


def test_submit_instrument_of_another_venue_is_rejected() -> None:
    harness = Harness(instruments=[make_instrument(instrument_id="BTC/USDT.XYZ", venue="XYZ")])

    harness.submit(instrument_id="BTC/USDT.XYZ")

    assert kinds(harness.take()) == [OrderRejected]


def test_submit_duplicate_working_client_order_id_is_rejected() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("1.00"))

    harness.submit()

    assert kinds(harness.take()) == [OrderAccepted, OrderRejected]


def test_post_only_limit_marketable_against_last_price_is_rejected() -> None:
    harness = Harness()
    harness.bar(0, 100.0, 110.0, 90.0, 105.0)  # no orders: the venue only notes the close

    harness.submit(client_order_id="A", order_type=OrderType.LIMIT, price=D("105.00"),
                   post_only=True)
    harness.submit(client_order_id="B", order_type=OrderType.LIMIT, price=D("104.99"),
                   post_only=True)
    sent = harness.take()

    assert kinds(sent) == [OrderRejected, OrderAccepted]
    assert isinstance(sent[0], OrderRejected)
    assert "post-only buy at or above the last price 105.0" in sent[0].reason


def test_post_only_check_reads_a_shared_market_cache() -> None:
    cache = MarketCache()
    cache.set_price(INSTRUMENT_ID, 100.0)
    harness = Harness(cache=cache)

    harness.submit(order_type=OrderType.LIMIT, side=OrderSide.SELL, price=D("99.00"),
                   post_only=True)

    assert kinds(harness.take()) == [OrderRejected]


# -- wiring and config -----------------------------------------------------------------------


def test_events_are_sent_after_the_item_is_settled() -> None:
    harness = Harness()
    harness.submit(client_order_id="A")
    harness.submit(client_order_id="B")
    harness.take()

    def cancel_b_on_fill_of_a(message: Message) -> None:
        harness.sent.append(message)
        if isinstance(message, OrderFilled) and message.client_order_id == "A":
            harness.cancel("B")

    harness.bus.deregister_endpoint(ORDERS_PROCESS)
    harness.bus.register_endpoint(ORDERS_PROCESS, cancel_b_on_fill_of_a)
    harness.bar(1, 100.0, 110.0, 90.0, 105.0)

    assert kinds(harness.take()) == [OrderFilled, OrderCancelRejected, OrderFilled]


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"venue": "SIM", "max_volume": 0.1}, SimVenueConfig)


@pytest.mark.parametrize(
    "fields",
    [{"max_volume_fraction": 0.0}, {"max_volume_fraction": 1.5}, {"venue": "A.B"},
     {"bar_timeframe": "1x"}],
)
def test_bad_config_raises_value_error(fields: dict[str, object]) -> None:
    # Checked when the config is made, so a config file fails at load naming the field.
    with pytest.raises(ValueError):
        SimVenueConfig(**fields)  # type: ignore[arg-type]
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(fields, SimVenueConfig)


def test_bar_timeframe_ignores_other_timeframes() -> None:
    harness = Harness(SimVenueConfig(bar_timeframe="5m"))
    harness.submit()
    harness.take()

    harness.bar(1, 100.0, 110.0, 90.0, 105.0)

    assert harness.take() == []


# -- retention (the daemon's bounded records; engine.actors.retention) ---------------------------


def trade_each_minute(harness: Harness, count: int) -> None:
    """Submit market order O-i before the bar of minute i, which fills it."""
    for minute in range(1, count + 1):
        harness.submit(client_order_id=f"O-{minute}")
        harness.bar(minute, 100, 101, 99, 100)


def test_retention_lets_go_of_closed_records_and_their_fills() -> None:
    harness = Harness()
    harness.venue.retain(RetentionConfig(closed_orders=3, late_fill_horizon_s=3600))
    harness.submit(client_order_id="resting", order_type=OrderType.LIMIT, price=D(50))

    trade_each_minute(harness, 40)

    venue = harness.venue
    assert venue.order_report(client_order_id="O-37") is None  # let go
    assert [r.client_order_id for r in venue.open_order_reports()] == ["resting"]
    report = venue.order_report(client_order_id="O-40")
    assert report is not None and report.filled_quantity == 1
    assert [f.client_order_id for f in venue.fill_reports()] == ["O-38", "O-39", "O-40"]
    state = venue.snapshot_state()
    assert len(state.order_ids) == 4 and len(state.fill_events) <= 6
    stats = harness.statistics()
    assert (stats.orders_accepted, stats.fills, stats.orders_working) == (41, 40, 1)


def test_retention_horizon_lets_go_of_records_before_the_count_is_reached() -> None:
    harness = Harness()
    harness.venue.retain(RetentionConfig(closed_orders=100, late_fill_horizon_s=120))

    trade_each_minute(harness, 10)

    # Closed at minutes 1..10; at minute 10 what closed at 8 or before is 2 minutes old.
    assert [f.client_order_id for f in harness.venue.fill_reports()] == ["O-9", "O-10"]


def test_retention_frees_a_client_order_id_once_its_record_is_gone() -> None:
    harness = Harness()
    harness.venue.retain(RetentionConfig(closed_orders=1, late_fill_horizon_s=3600))
    trade_each_minute(harness, 3)
    harness.take()

    harness.submit(client_order_id="O-1")  # its record went two orders ago

    assert kinds(harness.take()) == [OrderAccepted]


def test_without_retention_every_record_is_kept() -> None:
    harness = Harness()

    trade_each_minute(harness, 20)

    assert len(harness.venue.fill_reports()) == 20
    assert harness.venue.order_report(client_order_id="O-1") is not None


def test_a_retaining_venue_restored_from_its_snapshot_evicts_alike() -> None:
    policy = RetentionConfig(closed_orders=2, late_fill_horizon_s=3600)
    live = Harness()
    live.venue.retain(policy)
    trade_each_minute(live, 5)
    restored = Harness()
    restored.venue.retain(policy)
    restored.venue.restore_state(live.venue.snapshot_state())
    restored.clock.advance_to(live.clock.timestamp_ns())

    for harness in (live, restored):
        for minute in range(6, 12):
            harness.submit(client_order_id=f"O-{minute}")
            harness.bar(minute, 100, 101, 99, 100)

    assert restored.venue.snapshot_state() == live.venue.snapshot_state()


def test_a_snapshot_right_after_a_cancel_holds_only_the_working_orders() -> None:
    # The book lets a canceled order go on its next item; a snapshot in between (the
    # daemon takes one at any input boundary) must not trip over it.
    live = Harness()
    live.submit(client_order_id="O-1", order_type=OrderType.LIMIT, price=D("95.00"))
    live.submit(client_order_id="O-2", order_type=OrderType.LIMIT, price=D("96.00"))
    live.cancel("O-1")
    live.take()

    state = live.venue.snapshot_state()
    restored = Harness()
    restored.venue.restore_state(state)
    restored.clock.advance_to(live.clock.timestamp_ns())
    for harness in (live, restored):
        harness.bar(1, 100.0, 110.0, 90.0, 105.0)

    assert state.books == {make_instrument().instrument_id: ["O-2"]}
    assert kinds(restored.take()) == kinds(live.take()) == [OrderFilled]
    assert restored.venue.snapshot_state() == live.venue.snapshot_state()
