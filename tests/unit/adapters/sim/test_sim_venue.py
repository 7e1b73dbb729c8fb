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
from engine.domain.enums import (
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
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


# -- scenarios: order types, trigger types, time in force, reduce-only -------------------------
# Each scenario hands the venue hand-built bars, trades or quotes and writes out the fills
# it must make: (price, quantity, ts_event, liquidity side). Bar n closes at T0 + n minutes
# and opens a minute earlier.

TAKER = LiquiditySide.TAKER
MAKER = LiquiditySide.MAKER


def fills(messages: list[Message]) -> list[tuple[Decimal, Decimal, int, LiquiditySide]]:
    return [(m.last_price, m.last_quantity, m.ts_event, m.liquidity_side)
            for m in messages if isinstance(m, OrderFilled)]


def updates(messages: list[Message]) -> list[tuple[Decimal | None, Decimal | None, int]]:
    """(trigger_price, price, ts_event) of each OrderUpdated."""
    return [(m.trigger_price, m.price, m.ts_event)
            for m in messages if isinstance(m, OrderUpdated)]


def trade(harness: Harness, minute: int, price: float, size: float = 1.0) -> None:
    ts = T0 + minute * MINUTE
    harness.clock.advance_to(ts)
    harness.venue.process_market_data(TradeTick(
        instrument_id=INSTRUMENT_ID, price=price, size=size, ts_event=ts, ts_init=ts))


def quote(harness: Harness, minute: int, bid: float, ask: float) -> None:
    ts = T0 + minute * MINUTE
    harness.clock.advance_to(ts)
    harness.venue.process_market_data(QuoteTick(
        instrument_id=INSTRUMENT_ID, bid_price=bid, ask_price=ask, bid_size=5.0, ask_size=5.0,
        ts_event=ts, ts_init=ts))


def test_market_if_touched_buy_fills_at_trigger_when_the_price_falls_to_it() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.MARKET_IF_TOUCHED, trigger_price=D("95.00"))
    harness.take()

    harness.bar(1, 100.0, 110.0, 96.0, 105.0)  # above the trigger all bar
    untouched = harness.take()
    harness.bar(2, 100.0, 101.0, 94.0, 99.0)
    touched = harness.take()

    assert untouched == []
    assert kinds(touched) == [OrderFilled]  # no OrderTriggered: it becomes a market order
    assert fills(touched) == [(D("95.00"), D(1), T0 + 2 * MINUTE, TAKER)]


def test_market_if_touched_sell_gapping_through_the_trigger_fills_at_the_open() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.MARKET_IF_TOUCHED,
                   trigger_price=D("105.00"))
    harness.take()

    harness.bar(1, 107.5, 108.0, 104.0, 106.0)

    assert fills(harness.take()) == [(D("107.50"), D(1), T0, TAKER)]


def test_limit_if_touched_buy_triggers_then_fills_at_the_trigger_when_marketable() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT_IF_TOUCHED, trigger_price=D("95.00"),
                   price=D("95.50"))
    harness.take()

    harness.bar(1, 100.0, 101.0, 94.0, 99.0)
    sent = harness.take()

    assert kinds(sent) == [OrderTriggered, OrderFilled]
    assert sent[0].ts_event == T0 + MINUTE
    assert fills(sent) == [(D("95.00"), D(1), T0 + MINUTE, TAKER)]


def test_limit_if_touched_not_marketable_rests_as_a_limit_from_the_next_bar() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT_IF_TOUCHED, trigger_price=D("95.00"),
                   price=D("94.00"))
    harness.take()

    harness.bar(1, 100.0, 101.0, 93.0, 99.0)  # touches 95 and 94: the limit waits a bar
    triggered = harness.take()
    harness.bar(2, 96.0, 97.0, 93.5, 95.0)
    filled = harness.take()

    assert kinds(triggered) == [OrderTriggered]
    assert fills(filled) == [(D("94.00"), D(1), T0 + 2 * MINUTE, MAKER)]
    assert harness.statistics().orders_triggered == 1


def test_trailing_stop_market_sell_follows_the_bar_path_and_fills_at_its_trigger() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET,
                   trailing_offset=D("2.00"))
    accepted = harness.take()

    # Up bar: open 100 -> low 99 -> high 103 -> close 102. The trigger starts at the open
    # (98: no price known at acceptance) and rises with the high to 101.
    harness.bar(1, 100.0, 103.0, 99.0, 102.0)
    first = harness.take()
    # Down bar: open 102 -> high 104 -> low 100 -> close 100.5. The high lifts it to 102
    # before the low reaches it.
    harness.bar(2, 102.0, 104.0, 100.0, 100.5)
    second = harness.take()

    assert kinds(accepted) == [OrderAccepted]
    assert updates(first) == [(D("101.00"), None, T0 + MINUTE)]
    assert updates(second) == [(D("102.00"), None, T0 + 2 * MINUTE)]
    assert fills(second) == [(D("102.00"), D(1), T0 + 2 * MINUTE, TAKER)]


def test_trailing_stop_market_reports_the_trigger_only_when_it_moves() -> None:
    cache = MarketCache()
    cache.set_price(INSTRUMENT_ID, 100.0)
    harness = Harness(cache=cache)
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET,
                   trailing_offset=D("2.00"))
    accepted = harness.take()

    harness.bar(1, 99.5, 100.0, 98.5, 99.0)  # never above 100: the trigger stays at 98
    quiet = harness.take()

    assert kinds(accepted) == [OrderAccepted, OrderUpdated]
    assert updates(accepted) == [(D("98.00"), None, T0)]
    assert quiet == []


def test_trailing_stop_market_buy_in_ticks_gapping_through_fills_at_the_open() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.TRAILING_STOP_MARKET, trailing_offset=D(50),
                   trailing_offset_type=TrailingOffsetType.TICKS, trigger_price=D("100.50"))
    harness.take()

    harness.bar(1, 99.0, 99.2, 98.0, 98.2)  # down: the trigger follows to 98.00 + 0.50
    moved = harness.take()
    harness.bar(2, 99.0, 99.5, 98.9, 99.2)  # opens above 98.50: a gap
    gapped = harness.take()

    assert kinds(moved) == [OrderUpdated]
    assert updates(moved) == [(D("98.50"), None, T0 + MINUTE)]
    assert fills(gapped) == [(D("99.00"), D(1), T0 + MINUTE, TAKER)]


def test_trailing_stop_in_basis_points_is_a_fraction_of_the_price_rounded_away() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET,
                   trailing_offset=D(150), trailing_offset_type=TrailingOffsetType.BASIS_POINTS)
    harness.take()

    trade(harness, 1, 200.01)  # 1.5% of 200.01 is 3.00015: rounded up to 3.01
    moved = harness.take()
    trade(harness, 2, 197.00)
    filled = harness.take()

    assert updates(moved) == [(D("197.00"), None, T0 + MINUTE)]
    assert fills(filled) == [(D("197.00"), D(1), T0 + 2 * MINUTE, TAKER)]


def test_trailing_stop_limit_moves_its_limit_and_fills_at_the_trigger() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_LIMIT,
                   trailing_offset=D("2.00"), limit_offset=D("0.50"), trigger_price=D("97.00"))
    accepted = harness.take()

    harness.bar(1, 100.0, 104.0, 99.0, 103.0)
    moved = harness.take()
    harness.bar(2, 103.0, 103.5, 100.0, 100.2)
    sent = harness.take()

    assert updates(accepted) == [(D("97.00"), D("96.50"), T0)]
    assert updates(moved) == [(D("102.00"), D("101.50"), T0 + MINUTE)]
    assert kinds(sent) == [OrderTriggered, OrderFilled]
    assert fills(sent) == [(D("102.00"), D(1), T0 + 2 * MINUTE, TAKER)]


def test_trailing_stop_limit_gapping_below_its_limit_rests_and_fills_as_a_limit() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_LIMIT,
                   trailing_offset=D("2.00"), limit_offset=D("0.50"), trigger_price=D("98.00"))
    harness.take()

    harness.bar(1, 97.0, 97.2, 96.0, 96.5)  # opens under the limit 97.50
    triggered = harness.take()
    harness.bar(2, 96.5, 98.0, 96.4, 97.9)
    filled = harness.take()

    assert kinds(triggered) == [OrderTriggered]
    assert triggered[0].ts_event == T0
    assert fills(filled) == [(D("97.50"), D(1), T0 + 2 * MINUTE, MAKER)]


@pytest.mark.parametrize(
    ("trigger_type", "expected"),
    [
        # LAST ignores the quote and triggers on the trade at 106.
        (TriggerType.LAST, [(D("106.00"), D(1), T0 + 2 * MINUTE, TAKER)]),
        # BID_ASK ignores the trade and triggers on the quote, filling at its ask.
        (TriggerType.BID_ASK, [(D("105.50"), D(1), T0 + MINUTE, TAKER)]),
    ],
)
def test_trigger_type_chooses_which_prices_trigger_a_stop(
    trigger_type: TriggerType, expected: list[tuple[Decimal, Decimal, int, LiquiditySide]]
) -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.STOP_MARKET, trigger_price=D("105.00"),
                   trigger_type=trigger_type)
    harness.take()

    quote(harness, 1, 105.0, 105.5)
    trade(harness, 2, 106.0)
    trade(harness, 3, 107.0)

    assert fills(harness.take()) == expected


def test_mark_trigger_type_is_rejected_naming_the_field() -> None:
    harness = Harness()

    harness.submit(order_type=OrderType.STOP_MARKET, trigger_price=D("105.00"),
                   trigger_type=TriggerType.MARK)

    sent = harness.take()
    assert kinds(sent) == [OrderRejected]
    assert sent[0].reason.startswith("trigger_type mark:")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({}, "trailing_offset: a trailing_stop_market order needs a trailing_offset"),
        ({"trailing_offset": D(0)}, "trailing_offset: 0 must be > 0"),
        ({"trailing_offset": D("2.5"), "trailing_offset_type": TrailingOffsetType.TICKS},
         "trailing_offset: 2.5 ticks must be a whole number"),
        ({"trailing_offset": D("1.00"), "price": D("99.00")},
         "price 99.00: a trailing_stop_market order's limit is set by the venue from its "
         "limit_offset"),
        ({"trailing_offset": D("1.00"), "trigger_price": D("99.001")},
         "trigger_price 99.001: not a multiple of the price increment 0.01"),
    ],
)
def test_trailing_stop_with_bad_terms_is_rejected(overrides: dict[str, Any], reason: str) -> None:
    harness = Harness()

    harness.submit(order_type=OrderType.TRAILING_STOP_MARKET, **overrides)

    sent = harness.take()
    assert kinds(sent) == [OrderRejected]
    assert sent[0].reason == reason


def test_modify_of_a_trailing_stops_trigger_is_rejected() -> None:
    harness = Harness()
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET,
                   trailing_offset=D("2.00"), trigger_price=D("97.00"))
    harness.take()

    harness.modify(trigger_price=D("99.00"))

    sent = harness.take()
    assert kinds(sent) == [OrderModifyRejected]
    assert "follow the market" in sent[0].reason


def test_day_order_expires_at_utc_midnight_before_the_bar_closing_then() -> None:
    harness = Harness()  # T0 is 1000 minutes into a day: midnight is 440 minutes later
    harness.submit(order_type=OrderType.LIMIT, price=D("90.00"), time_in_force=TimeInForce.DAY)
    harness.take()

    harness.bar(439, 100.0, 101.0, 91.0, 100.0)
    before = harness.take()
    harness.bar(440, 100.0, 101.0, 80.0, 100.0)  # closes at midnight: too late to fill
    at_midnight = harness.take()

    midnight = 86_400 * 1_000_000_000
    assert T0 + 440 * MINUTE == midnight
    assert before == []
    assert at_midnight == [OrderExpired(strategy_id="s1", client_order_id="O-1",
                                        instrument_id=INSTRUMENT_ID, ts_event=midnight,
                                        ts_init=midnight)]


def test_day_order_fills_like_a_gtc_order_within_its_day() -> None:
    harness = Harness()
    harness.submit(order_type=OrderType.LIMIT, price=D("90.00"), time_in_force=TimeInForce.DAY)
    harness.take()

    harness.bar(439, 100.0, 101.0, 89.0, 100.0)

    assert fills(harness.take()) == [(D("90.00"), D(1), T0 + 439 * MINUTE, MAKER)]


def open_long(harness: Harness, minute: int, quantity: str = "1") -> None:
    harness.submit(client_order_id=f"long-{minute}", quantity=D(quantity))
    harness.bar(minute, 100.0, 101.0, 99.0, 100.0)
    harness.take()


@pytest.mark.parametrize("side", [OrderSide.SELL, OrderSide.BUY])
def test_reduce_only_order_facing_no_position_is_rejected(side: OrderSide) -> None:
    harness = Harness()

    harness.submit(side=side, reduce_only=True)

    sent = harness.take()
    assert kinds(sent) == [OrderRejected]
    assert sent[0].reason == (f"reduce_only True: a {side} order would open or increase the "
                              "net position 0 at the venue")


def test_reduce_only_buy_against_a_long_is_rejected() -> None:
    harness = Harness()
    open_long(harness, 1)

    harness.submit(side=OrderSide.BUY, reduce_only=True)

    assert kinds(harness.take()) == [OrderRejected]


def test_reduce_only_larger_than_the_position_fills_it_and_cancels_the_rest() -> None:
    harness = Harness()
    open_long(harness, 1)
    harness.submit(side=OrderSide.SELL, quantity=D("1.5"), reduce_only=True)
    assert kinds(harness.take()) == [OrderAccepted]

    harness.bar(2, 101.0, 102.0, 100.0, 101.0)
    sent = harness.take()

    assert kinds(sent) == [OrderFilled, OrderCanceled]
    assert fills(sent) == [(D("101.00"), D(1), T0 + MINUTE, TAKER)]
    assert sent[1] == OrderCanceled(
        strategy_id="s1", client_order_id="O-1", instrument_id=INSTRUMENT_ID,
        reason="reduce_only True: the remaining 0.5 would open or increase the net position "
        "0: canceled", ts_event=T0 + MINUTE, ts_init=T0 + 2 * MINUTE)


def test_reduce_only_orders_share_the_position_they_reduce() -> None:
    harness = Harness()
    open_long(harness, 1)
    harness.submit(client_order_id="A", side=OrderSide.SELL, quantity=D("0.6"),
                   reduce_only=True)
    harness.submit(client_order_id="B", side=OrderSide.SELL, quantity=D("0.6"),
                   reduce_only=True)
    harness.take()

    harness.bar(2, 101.0, 102.0, 100.0, 101.0)
    sent = harness.take()

    assert [(m.client_order_id, type(m)) for m in sent] == [
        ("A", OrderFilled), ("B", OrderFilled), ("B", OrderCanceled)]
    assert fills(sent) == [(D("101.00"), D("0.6"), T0 + MINUTE, TAKER),
                           (D("101.00"), D("0.4"), T0 + MINUTE, TAKER)]


def test_reduce_only_fill_or_kill_larger_than_the_position_fills_nothing() -> None:
    harness = Harness()
    open_long(harness, 1)
    harness.submit(side=OrderSide.SELL, quantity=D(2), reduce_only=True,
                   time_in_force=TimeInForce.FOK)
    harness.take()

    harness.bar(2, 101.0, 102.0, 100.0, 101.0)

    assert kinds(harness.take()) == [OrderCanceled]


def test_venue_positions_survive_a_snapshot() -> None:
    live = Harness()
    open_long(live, 1)
    restored = Harness()
    restored.venue.restore_state(live.venue.snapshot_state())

    for harness in (live, restored):
        harness.submit(client_order_id="R", side=OrderSide.SELL, reduce_only=True)

    assert kinds(restored.take()) == kinds(live.take()) == [OrderAccepted]
    assert live.venue.snapshot_state().positions == [("s1", INSTRUMENT_ID, D(1))]


def test_venue_positions_are_rebuilt_from_the_fills_of_an_older_snapshot() -> None:
    live = Harness()
    open_long(live, 1)
    older = msgspec.structs.replace(live.venue.snapshot_state(), positions=None)
    restored = Harness()

    restored.venue.restore_state(older)

    assert restored.venue.snapshot_state().positions == [("s1", INSTRUMENT_ID, D(1))]


def test_reduce_only_faces_the_position_of_its_own_strategy() -> None:
    harness = Harness()
    open_long(harness, 1)  # strategy s1 long 1
    harness.submit(strategy_id="s2", client_order_id="short", side=OrderSide.SELL)
    harness.bar(2, 100.0, 101.0, 99.0, 100.0)  # s2 short 1: the account is flat
    harness.take()

    harness.submit(strategy_id="s2", client_order_id="s2-close", reduce_only=True)
    harness.submit(strategy_id="s1", client_order_id="s1-close", side=OrderSide.SELL,
                   reduce_only=True)
    harness.submit(strategy_id="s1", client_order_id="s1-more", reduce_only=True)

    assert [(type(m), m.client_order_id) for m in harness.take()] == [
        (OrderAccepted, "s2-close"), (OrderAccepted, "s1-close"), (OrderRejected, "s1-more")]


def test_modify_trailing_offset_sets_the_trigger_again_from_the_last_price() -> None:
    cache = MarketCache()
    cache.set_price(INSTRUMENT_ID, 100.0)
    harness = Harness(cache=cache)
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET,
                   trailing_offset=D("2.00"))
    harness.bar(1, 100.0, 104.0, 100.0, 103.0)  # the trigger rises to 102
    cache.set_price(INSTRUMENT_ID, 103.0)
    harness.take()

    harness.modify(trailing_offset=D("5.00"))  # widened: from the last price, 103 - 5
    widened = harness.take()
    harness.bar(2, 103.0, 103.0, 99.0, 99.5)  # 102 would have filled; 98 does not
    untouched = harness.take()
    harness.bar(3, 99.5, 99.5, 97.0, 97.5)
    filled = harness.take()

    assert widened == [OrderUpdated(
        strategy_id="s1", client_order_id="O-1", instrument_id=INSTRUMENT_ID, quantity=D(1),
        trigger_price=D("98.00"), trailing_offset=D("5.00"), ts_event=T0 + MINUTE,
        ts_init=T0 + MINUTE)]
    assert fills(untouched) == []
    assert fills(filled) == [(D("98.00"), D(1), T0 + 3 * MINUTE, TAKER)]


def test_modify_trailing_stop_limit_offset_moves_its_limit_with_the_trigger() -> None:
    cache = MarketCache()
    cache.set_price(INSTRUMENT_ID, 100.0)
    harness = Harness(cache=cache)
    harness.submit(side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_LIMIT,
                   trailing_offset=D("2.00"), limit_offset=D("0.50"))
    harness.take()

    harness.modify(limit_offset=D("1.00"))

    assert updates(harness.take()) == [(D("98.00"), D("97.00"), T0)]


@pytest.mark.parametrize(
    ("submit", "fields", "reason"),
    [
        ({"order_type": OrderType.LIMIT, "price": D("90.00")}, {"trailing_offset": D(1)},
         "trailing_offset: a limit order takes no trailing_offset"),
        ({"side": OrderSide.SELL, "order_type": OrderType.TRAILING_STOP_MARKET,
          "trailing_offset": D("2.00")}, {"trailing_offset": D("0.005")},
         "price_increment: trailing_offset 0.005 is not a multiple of 0.01"),
        ({"side": OrderSide.SELL, "order_type": OrderType.TRAILING_STOP_MARKET,
          "trailing_offset": D("2.00")}, {"limit_offset": D(1)},
         "limit_offset: a trailing_stop_market order takes no limit_offset"),
    ],
)
def test_modify_trailing_offset_refused_where_it_does_not_apply(
    submit: dict[str, Any], fields: dict[str, Any], reason: str,
) -> None:
    harness = Harness()
    harness.submit(**submit)
    harness.take()

    harness.modify(**fields)

    assert [(type(m), getattr(m, "reason", "")) for m in harness.take()] == [
        (OrderModifyRejected, reason)]


# -- matching: what the graph calls the venue for ------------------------------------------


def test_a_plain_venue_matches_only_while_an_order_works() -> None:
    harness = Harness(cache=MarketCache())  # the graph's cache: the venue keeps none

    idle = harness.venue.matching
    harness.submit(order_type=OrderType.LIMIT, price=D("29000"))
    working = harness.venue.matching
    harness.bar(1, 30000.0, 30010.0, 29990.0, 30005.0)  # not down to the limit: still works
    still = harness.venue.matching
    harness.cancel()
    harness.bar(2, 30000.0, 30010.0, 29990.0, 30005.0)  # the first item after: books settled
    after = harness.venue.matching

    assert (idle, working, still, after) == (False, True, True, False)


def test_a_filled_order_leaves_the_venue_idle_and_a_snapshot_restores_the_flag() -> None:
    harness = Harness(cache=MarketCache())
    harness.submit()
    harness.bar(1, 30000.0, 30010.0, 29990.0, 30005.0)
    filled_idle = harness.venue.matching
    harness.submit(client_order_id="O-2", order_type=OrderType.LIMIT, price=D("29000"))
    state = harness.venue.snapshot_state()
    fresh = Harness(cache=MarketCache())
    fresh.venue.restore_state(state)

    assert filled_idle is False
    assert fresh.venue.matching is True


def test_a_venue_with_its_own_cache_matches_every_item() -> None:
    harness = Harness()  # no cache given: the venue tracks the last prices itself

    assert harness.venue.matching is True
