"""The codec: every message type survives msgpack and JSON exactly, Decimals included."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, strategies as st

from engine.domain.enums import (
    BookAction,
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    PositionSide,
    TimeInForce,
    TradingState,
)
from engine.events import (
    MESSAGE_TYPES,
    AccountBalance,
    AccountState,
    AccountUpdated,
    ActorFaulted,
    ActorStarted,
    ActorStopped,
    Balance,
    Bar,
    BarType,
    BookDelta,
    CancelOrder,
    CancelOrderList,
    ContingentOrderRefused,
    ExternalOrderAdopted,
    FundingPayment,
    FundingRate,
    Instrument,
    Message,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderExpired,
    OrderFilled,
    OrderListClosed,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderTransitionRejected,
    OrderTriggered,
    OrderUpdated,
    PositionChanged,
    PositionClosed,
    PositionOpened,
    QuoteTick,
    SessionFailed,
    SessionStarted,
    SessionStopping,
    SetTradingState,
    StartStrategy,
    StopStrategy,
    SubmitOrder,
    SubmitOrderList,
    SubscribeBars,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    TimerFired,
    TradeTick,
    TradingStateChanged,
    UnsubscribeMarketData,
    decode_json,
    decode_msgpack,
    encode_json,
    encode_msgpack,
)
from engine.events.algos import (
    AlgoChildSent,
    AlgoOrderClosed,
    CancelAlgoOrder,
    SubmitAlgoOrder,
    VwapParameters,
)

INSTRUMENT = "BTC/USDT.SIM"
BAR_TYPE = BarType(instrument_id=INSTRUMENT, timeframe="1m")
TS: dict[str, int] = {"ts_event": 1_700_000_000_000_000_001, "ts_init": 1_700_000_000_000_000_002}
ORDER: dict[str, Any] = {"strategy_id": "s1", "client_order_id": "c-1", "instrument_id": INSTRUMENT}
POSITION: dict[str, Any] = {
    "strategy_id": "s1", "instrument_id": INSTRUMENT, "side": PositionSide.LONG,
    "quantity": Decimal("0.015"), "average_entry_price": Decimal("30000.12"),
    "realized_pnl": Decimal("-1.000000001"), "fees": Decimal("0.0300001"), "opened_ns": 5,
    "last_fill_price": Decimal("30000.12"), "last_fill_quantity": Decimal("0.005"),
}


def _samples() -> dict[type[Message], Callable[[], Message]]:
    return {
        Instrument: lambda: Instrument(
            instrument_id=INSTRUMENT, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
            quote_currency="USDT", price_increment=Decimal("0.01"),
            size_increment=Decimal("0.00001"), min_quantity=Decimal("0.0001"),
            min_notional=Decimal("5"), maker_fee=Decimal("-0.0001"), taker_fee=Decimal("0.001"),
            **TS,
        ),
        Bar: lambda: Bar(bar_type=BAR_TYPE, open=1.1, high=2.2, low=0.3, close=1.7,
                         volume=12.125, **TS),
        TradeTick: lambda: TradeTick(instrument_id=INSTRUMENT, price=30000.12, size=0.5,
                                     aggressor_side=OrderSide.SELL, trade_id="t-9", **TS),
        QuoteTick: lambda: QuoteTick(instrument_id=INSTRUMENT, bid_price=1.0, ask_price=1.5,
                                     bid_size=3.0, ask_size=4.0, **TS),
        SubscribeBars: lambda: SubscribeBars(bar_type=BAR_TYPE, **TS),
        SubscribeTradeTicks: lambda: SubscribeTradeTicks(instrument_id=INSTRUMENT, **TS),
        SubscribeQuoteTicks: lambda: SubscribeQuoteTicks(instrument_id=INSTRUMENT, **TS),
        SubmitOrder: lambda: SubmitOrder(
            **ORDER, side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT,
            quantity=Decimal("0.123"), price=Decimal("100.05"), trigger_price=Decimal("99.5"),
            time_in_force=TimeInForce.GTD, expire_ns=99, reduce_only=True, post_only=True, **TS,
        ),
        CancelOrder: lambda: CancelOrder(**ORDER, **TS),
        ModifyOrder: lambda: ModifyOrder(**ORDER, quantity=Decimal("2"), price=Decimal("3.1"),
                                         **TS),
        SetTradingState: lambda: SetTradingState(state=TradingState.HALTED, reason="kill", **TS),
        OrderDenied: lambda: OrderDenied(
            **ORDER, side=OrderSide.SELL, order_type=OrderType.LIMIT, quantity=Decimal("1"),
            price=Decimal("10.10"), reason="max_notional", **TS,
        ),
        OrderSubmitted: lambda: OrderSubmitted(**ORDER, venue="SIM", **TS),
        OrderAccepted: lambda: OrderAccepted(**ORDER, venue_order_id="v-1", **TS),
        OrderRejected: lambda: OrderRejected(**ORDER, reason="insufficient balance", **TS),
        OrderTriggered: lambda: OrderTriggered(**ORDER, **TS),
        OrderUpdated: lambda: OrderUpdated(**ORDER, quantity=Decimal("5"), price=Decimal("1.25"),
                                           trigger_price=Decimal("1.2"), **TS),
        OrderModifyRejected: lambda: OrderModifyRejected(**ORDER, reason="too late", **TS),
        OrderCancelRejected: lambda: OrderCancelRejected(**ORDER, reason="not open", **TS),
        OrderCanceled: lambda: OrderCanceled(**ORDER, **TS),
        OrderExpired: lambda: OrderExpired(**ORDER, **TS),
        OrderEmulated: lambda: OrderEmulated(**ORDER, **TS),
        OrderReleased: lambda: OrderReleased(**ORDER, order_type=OrderType.LIMIT,
                                             price=Decimal("99.5"), trigger_price=Decimal(100),
                                             released_price=Decimal("99.9"), **TS),
        SubscribeOrderBook: lambda: SubscribeOrderBook(instrument_id="BTC/USDT.SIM", depth=20,
                                                       **TS),
        UnsubscribeMarketData: lambda: UnsubscribeMarketData(
            stream="bars", instrument_id="BTC/USDT.SIM", timeframe="5m", **TS),
        SessionFailed: lambda: SessionFailed(session=3, error_type="JournalError",
                                             error="disk full", **TS),
        OrderPendingCancel: lambda: OrderPendingCancel(**ORDER, **TS),
        OrderPendingUpdate: lambda: OrderPendingUpdate(**ORDER, **TS),
        OrderOutcomeUnknown: lambda: OrderOutcomeUnknown(
            **ORDER, operation="submit", reason="timeout after 5 s", **TS),
        ExternalOrderAdopted: lambda: ExternalOrderAdopted(
            **ORDER, venue_order_id="v-9", side=OrderSide.SELL, order_type=OrderType.LIMIT,
            quantity=Decimal("0.5"), price=Decimal("30100.5"), **TS),
        AccountState: lambda: AccountState(
            venue="SIM", account_id="acc", balances=(
                AccountBalance(currency="USDT", total=Decimal("100.5"), free=Decimal("90"),
                               locked=Decimal("10.5")),),
            margin_used=None, margin_available=Decimal("1"), **TS),
        OrderFilled: lambda: OrderFilled(
            **ORDER, venue_order_id="v-1", trade_id="t-1", side=OrderSide.BUY,
            last_quantity=Decimal("0.00100000"), last_price=Decimal("30000.123456789"),
            commission=Decimal("0.030000123"), commission_currency="USDT",
            liquidity_side=LiquiditySide.MAKER, **TS,
        ),
        PositionOpened: lambda: PositionOpened(**POSITION, **TS),
        PositionChanged: lambda: PositionChanged(**POSITION, **TS),
        PositionClosed: lambda: PositionClosed(
            **POSITION, closed_ns=7, average_exit_price=Decimal("30100.5"),
            peak_quantity=Decimal("0.02"), **TS,
        ),
        AccountUpdated: lambda: AccountUpdated(
            account_id="main",
            balances=(Balance(currency="BTC", total=Decimal("0.015")),
                      Balance(currency="USDT", total=Decimal("99549.0099999"))),
            equity=Decimal("100000.00000001"), currency="USDT", **TS,
        ),
        TimerFired: lambda: TimerFired(name="bars", owner="data", **TS),
        ActorStarted: lambda: ActorStarted(actor_id="s1", **TS),
        ActorStopped: lambda: ActorStopped(actor_id="s1", **TS),
        ActorFaulted: lambda: ActorFaulted(actor_id="s1", error_type="ZeroDivisionError",
                                           error="division by zero", message_kind="bar", **TS),
        TradingStateChanged: lambda: TradingStateChanged(state=TradingState.REDUCING,
                                                         reason="drawdown", **TS),
        OrderTransitionRejected: lambda: OrderTransitionRejected(
            client_order_id="c-1", from_state="canceled", event_kind="order.filled", **TS,
        ),
        FundingRate: lambda: FundingRate(instrument_id=INSTRUMENT, rate=0.0001,
                                         mark_price=101.5, **TS),
        FundingPayment: lambda: FundingPayment(
            strategy_id="s1", instrument_id=INSTRUMENT, venue="SIM", currency="USDT",
            amount=Decimal("-0.01015"), rate=Decimal("0.0001"), mark_price=Decimal("101.5"),
            quantity=Decimal(1), **TS),
        BookDelta: lambda: BookDelta(instrument_id=INSTRUMENT, side=OrderSide.SELL,
                                     action=BookAction.UPDATE, price=30000.5, size=0.25,
                                     sequence=42, **TS),
        SessionStarted: lambda: SessionStarted(session=3, **TS),
        SessionStopping: lambda: SessionStopping(session=3, cancel_open_orders=True, **TS),
        StartStrategy: lambda: StartStrategy(strategy_id="sma", **TS),
        StopStrategy: lambda: StopStrategy(strategy_id="sma", cancel_open_orders=True, **TS),
        SubmitOrderList: lambda: SubmitOrderList(
            strategy_id="sma", order_list_id="sma-1-list", contingency=ContingencyType.OCO,
            orders=(SubmitOrder(**ORDER, side=OrderSide.SELL, order_type=OrderType.LIMIT,
                                quantity=Decimal(1), price=Decimal(110),
                                contingency=ContingencyType.OCO, order_list_id="sma-1-list",
                                **TS),), **TS),
        CancelOrderList: lambda: CancelOrderList(strategy_id="sma", order_list_id="l", **TS),
        ContingentOrderRefused: lambda: ContingentOrderRefused(
            strategy_id="sma", order_list_id="l", client_order_id="sma-2", reason="no",
            consequence="the other exit stays working", **TS),
        SubmitAlgoOrder: lambda: SubmitAlgoOrder(
            strategy_id="sma", parent_order_id="sma-1", instrument_id="BTC/USDT.SIM",
            side=OrderSide.BUY, quantity=Decimal(1),
            parameters=VwapParameters(horizon_ns=60, participation=Decimal("0.1")), **TS),
        CancelAlgoOrder: lambda: CancelAlgoOrder(strategy_id="sma", parent_order_id="p", **TS),
        AlgoChildSent: lambda: AlgoChildSent(
            strategy_id="sma", parent_order_id="p", client_order_id="p-C1",
            quantity=Decimal(1), sent_quantity=Decimal(1), filled_quantity=Decimal(0), **TS),
        AlgoOrderClosed: lambda: AlgoOrderClosed(
            strategy_id="sma", parent_order_id="p", quantity=Decimal(1),
            filled_quantity=Decimal(1), reason="filled", **TS),
        OrderListClosed: lambda: OrderListClosed(
            strategy_id="sma", order_list_id="l", contingency=ContingencyType.BRACKET,
            reason="every order of the list is done", **TS),
    }


SAMPLES = _samples()


def test_samples_cover_every_message_type() -> None:
    assert set(SAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=lambda t: t.__name__)
def test_msgpack_round_trip_every_type_is_exact(message_type: type[Message]) -> None:
    message = SAMPLES[message_type]()
    decoded = decode_msgpack(encode_msgpack(message))
    assert type(decoded) is message_type
    assert decoded == message


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=lambda t: t.__name__)
def test_json_round_trip_every_type_is_exact(message_type: type[Message]) -> None:
    message = SAMPLES[message_type]()
    decoded = decode_json(encode_json(message))
    assert type(decoded) is message_type
    assert decoded == message


def test_json_decimals_travel_as_strings_with_their_exponent() -> None:
    encoded = encode_json(SAMPLES[OrderFilled]())
    assert b'"last_quantity":"0.00100000"' in encoded
    decoded = decode_json(encoded)
    assert isinstance(decoded, OrderFilled)
    assert str(decoded.last_quantity) == "0.00100000"


def test_json_carries_the_kind_tag() -> None:
    assert b'"kind":"order.filled"' in encode_json(SAMPLES[OrderFilled]())


def test_decode_json_unknown_kind_raises_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_json(b'{"kind":"no.such","ts_event":1,"ts_init":1}')


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
timestamps = st.integers(min_value=0, max_value=2**63 - 1)
amounts = st.decimals(allow_nan=False, allow_infinity=False)


@given(
    open_=finite_floats, high=finite_floats, low=finite_floats, close=finite_floats,
    volume=finite_floats, ts_event=timestamps, ts_init=timestamps,
    timeframe=st.sampled_from(["1s", "1m", "5m", "1h", "1d"]),
)
def test_bar_round_trip_any_values_is_exact(
    open_: float, high: float, low: float, close: float, volume: float, ts_event: int,
    ts_init: int, timeframe: str,
) -> None:
    bar = Bar(bar_type=BarType(instrument_id=INSTRUMENT, timeframe=timeframe), open=open_,
              high=high, low=low, close=close, volume=volume, ts_event=ts_event, ts_init=ts_init)
    assert decode_msgpack(encode_msgpack(bar)) == bar
    assert decode_json(encode_json(bar)) == bar


@given(
    last_quantity=amounts, last_price=amounts, commission=amounts,
    side=st.sampled_from(OrderSide), liquidity=st.sampled_from(LiquiditySide),
    trade_id=st.text(), ts_event=timestamps,
)
def test_order_filled_round_trip_any_decimals_is_exact(
    last_quantity: Decimal, last_price: Decimal, commission: Decimal, side: OrderSide,
    liquidity: LiquiditySide, trade_id: str, ts_event: int,
) -> None:
    fill = OrderFilled(
        **ORDER, venue_order_id="v", trade_id=trade_id, side=side, last_quantity=last_quantity,
        last_price=last_price, commission=commission, commission_currency="USDT",
        liquidity_side=liquidity, ts_event=ts_event, ts_init=ts_event,
    )
    for decoded in (decode_msgpack(encode_msgpack(fill)), decode_json(encode_json(fill))):
        assert decoded == fill
        assert isinstance(decoded, OrderFilled)
        assert str(decoded.last_price) == str(last_price)  # same digits, same exponent
