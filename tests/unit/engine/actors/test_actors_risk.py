"""Check every risk rule through a real bus and clock, with fake position and order views."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from engine.actors.orders import order_record
from engine.actors.risk import RiskActor, RiskConfig
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TradingState,
    TrailingOffsetType,
    TriggerType,
)
from engine.domain.order import Order
from engine.events.base import Message
from engine.events.market import Instrument
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderDenied,
    OrderModifyRejected,
    SetTradingState,
    SubmitOrder,
)
from engine.events.system import TradingStateChanged
from engine.instruments import InstrumentRegistry
from engine.testing import make_instrument
from engine.topics import ORDERS_EXECUTE, ORDERS_PROCESS, RISK_EXECUTE, system_topic

INSTRUMENT_ID = "BTC/USDT.SIM"
SECOND = 1_000_000_000


def _submit(client_order_id: str = "O-1", **overrides: Any) -> SubmitOrder:
    fields: dict[str, Any] = {
        "strategy_id": "alpha",
        "client_order_id": client_order_id,
        "instrument_id": INSTRUMENT_ID,
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": Decimal("1"),
        "price": Decimal("30000"),
        "ts_event": 0,
        "ts_init": 0,
    }
    return SubmitOrder(**(fields | overrides))


def _modify(client_order_id: str = "O-1", **overrides: Any) -> ModifyOrder:
    fields: dict[str, Any] = {
        "strategy_id": "alpha",
        "client_order_id": client_order_id,
        "instrument_id": INSTRUMENT_ID,
        "ts_event": 0,
        "ts_init": 0,
    }
    return ModifyOrder(**(fields | overrides))


class FakePositions:
    """Net positions by (instrument, strategy); no strategy means summed over strategies."""

    def __init__(self) -> None:
        self.net: dict[tuple[str, str], Decimal] = {}

    def net_quantity(self, instrument_id: str, strategy_id: str | None = None) -> Decimal:
        return sum(
            (
                quantity
                for (instrument, strategy), quantity in self.net.items()
                if instrument == instrument_id and strategy_id in (None, strategy)
            ),
            Decimal(0),
        )


class FakeOrders:
    """The order manager's view: forwarded submissions become accepted, open orders."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def accept(self, command: SubmitOrder) -> None:
        self.orders[command.client_order_id] = order_record(command, status=OrderStatus.ACCEPTED)

    def open_orders(
        self, *, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[Order]:
        return [
            order
            for order in self.orders.values()
            if order.is_open
            and strategy_id in (None, order.strategy_id)
            and instrument_id in (None, order.instrument_id)
        ]

    def order(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def open_order_count(self) -> int:
        return len(self.open_orders())


@dataclass
class Rig:
    bus: MessageBus
    clock: SimClock
    risk: RiskActor
    positions: FakePositions
    orders: FakeOrders
    cache: MarketCache
    forwarded: list[Message] = field(default_factory=list)
    processed: list[Message] = field(default_factory=list)
    system: list[Message] = field(default_factory=list)

    def send(self, *commands: Message) -> None:
        for command in commands:
            self.bus.send(RISK_EXECUTE, command)

    def reasons(self) -> list[str]:
        return [
            message.reason
            for message in self.processed
            if isinstance(message, OrderDenied | OrderModifyRejected)
        ]


def _rig(
    config: RiskConfig | None = None,
    *,
    last_price: float | None = None,
    instrument: Instrument | None = None,
) -> Rig:
    bus, clock = MessageBus(), SimClock()
    positions, orders, cache = FakePositions(), FakeOrders(), MarketCache()
    if last_price is not None:
        cache.set_price(INSTRUMENT_ID, last_price)
    instruments = InstrumentRegistry([instrument or make_instrument()])
    risk = RiskActor(config or RiskConfig(), instruments, positions, orders, cache)
    rig = Rig(bus, clock, risk, positions, orders, cache)

    def execute(command: Message) -> None:
        rig.forwarded.append(command)
        if isinstance(command, SubmitOrder):
            orders.accept(command)

    bus.register_endpoint(ORDERS_EXECUTE, execute)
    bus.register_endpoint(ORDERS_PROCESS, rig.processed.append)
    bus.subscribe(system_topic("risk"), rig.system.append)
    risk.register(bus, clock)
    risk.start()
    return rig


# -- submissions ---------------------------------------------------------------------------


def test_submit_order_within_limits_is_forwarded_unchanged() -> None:
    rig = _rig()
    command = _submit()

    rig.send(command)

    assert rig.forwarded == [command]
    assert rig.processed == []


def test_submit_order_denied_carries_the_order_and_the_clock_time() -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000")))
    rig.clock.advance_to(7 * SECOND)
    command = _submit(quantity=Decimal("2"), price=Decimal("30000.12"))

    rig.send(command)

    assert rig.forwarded == []
    assert rig.processed == [
        OrderDenied(
            strategy_id="alpha",
            client_order_id="O-1",
            instrument_id=INSTRUMENT_ID,
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            quantity=Decimal("2"),
            price=Decimal("30000.12"),
            reason="max_order_notional: notional 60000.24 exceeds 50000",
            ts_event=7 * SECOND,
            ts_init=7 * SECOND,
        )
    ]


def test_submit_order_when_halted_is_denied_and_cancel_is_forwarded() -> None:
    rig = _rig(RiskConfig(trading_state=TradingState.HALTED))
    cancel = CancelOrder(
        strategy_id="alpha", client_order_id="O-0", instrument_id=INSTRUMENT_ID,
        ts_event=0, ts_init=0,
    )

    rig.send(_submit(), cancel)

    assert rig.reasons() == ["trading_state: halted, orders can only be canceled"]
    assert rig.forwarded == [cancel]


def test_submit_order_when_reducing_allows_a_reduce_and_denies_an_increase() -> None:
    rig = _rig(RiskConfig(trading_state=TradingState.REDUCING))
    rig.positions.net[INSTRUMENT_ID, "alpha"] = Decimal("2")
    reduce = _submit("O-1", side=OrderSide.SELL, quantity=Decimal("2"))

    rig.send(
        reduce,
        _submit("O-2", side=OrderSide.BUY, quantity=Decimal("1")),
        _submit("O-3", side=OrderSide.SELL, quantity=Decimal("3")),  # would flip to short
    )

    assert rig.forwarded == [reduce]
    assert rig.reasons() == [
        "trading_state: reducing, buy 1 would not reduce net position 2",
        "trading_state: reducing, sell 3 would not reduce net position 2",
    ]


def test_submit_order_for_unknown_instrument_is_denied() -> None:
    rig = _rig()
    known = _submit("O-1")

    rig.send(known, _submit("O-2", instrument_id="ETH/USDT.SIM"))

    assert rig.forwarded == [known]
    assert rig.reasons() == ["unknown_instrument: ETH/USDT.SIM is not known to this graph"]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("1.001", None),
        ("0", "quantity: 0 must be > 0"),
        ("-1", "quantity: -1 must be > 0"),
        ("1.0005", "size_increment: quantity 1.0005 is not a multiple of 0.001"),
    ],
)
def test_submit_order_quantity_must_be_positive_on_increment(
    quantity: str, expected: str | None
) -> None:
    rig = _rig()

    rig.send(_submit(quantity=Decimal(quantity)))

    assert rig.reasons() == ([] if expected is None else [expected])
    assert len(rig.forwarded) == (1 if expected is None else 0)


@pytest.mark.parametrize(
    ("order_type", "price", "trigger_price", "expected"),
    [
        (OrderType.MARKET, None, None, None),
        (OrderType.LIMIT, "30000.01", None, None),
        (OrderType.STOP_MARKET, None, "31000", None),
        (OrderType.STOP_LIMIT, "31000.5", "31000", None),
        (OrderType.LIMIT, None, None, "price: a limit order needs a price"),
        (OrderType.STOP_MARKET, None, None,
         "trigger_price: a stop_market order needs a trigger_price"),
        (OrderType.STOP_LIMIT, None, "31000", "price: a stop_limit order needs a price"),
        (OrderType.MARKET, "30000", None, "price: a market order takes no price"),
        (OrderType.LIMIT, "30000", "29000", "trigger_price: a limit order takes no trigger_price"),
        (OrderType.LIMIT, "0", None, "price: 0 must be > 0"),
        (OrderType.LIMIT, "30000.005", None,
         "price_increment: price 30000.005 is not a multiple of 0.01"),
        (OrderType.STOP_LIMIT, "31000", "31000.001",
         "price_increment: trigger_price 31000.001 is not a multiple of 0.01"),
        (OrderType.MARKET_IF_TOUCHED, None, "29000", None),
        (OrderType.MARKET_IF_TOUCHED, None, None,
         "trigger_price: a market_if_touched order needs a trigger_price"),
        (OrderType.LIMIT_IF_TOUCHED, "29000.5", "29000", None),
        (OrderType.LIMIT_IF_TOUCHED, None, "29000",
         "price: a limit_if_touched order needs a price"),
    ],
)
def test_submit_order_prices_must_match_the_type_and_increment(
    order_type: OrderType, price: str | None, trigger_price: str | None, expected: str | None
) -> None:
    rig = _rig(last_price=30000.0)
    command = _submit(
        order_type=order_type,
        price=None if price is None else Decimal(price),
        trigger_price=None if trigger_price is None else Decimal(trigger_price),
    )

    rig.send(command)

    assert rig.reasons() == ([] if expected is None else [expected])
    assert rig.forwarded == ([command] if expected is None else [])


TRAILING_MARKET = OrderType.TRAILING_STOP_MARKET
TRAILING_LIMIT = OrderType.TRAILING_STOP_LIMIT


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"order_type": TRAILING_MARKET, "trailing_offset": "50"}, None),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "50", "trigger_price": "29950"},
         None),
        ({"order_type": TRAILING_LIMIT, "trailing_offset": "50", "limit_offset": "0"}, None),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "25",
          "trailing_offset_type": TrailingOffsetType.BASIS_POINTS}, None),
        ({"order_type": TRAILING_MARKET},
         "trailing_offset: a trailing_stop_market order needs a trailing_offset"),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "0"},
         "trailing_offset: 0 must be > 0"),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "-1"},
         "trailing_offset: -1 must be > 0"),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "50.005"},
         "price_increment: trailing_offset 50.005 is not a multiple of 0.01"),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "1.5",
          "trailing_offset_type": TrailingOffsetType.TICKS},
         "trailing_offset: 1.5 ticks must be a whole number"),
        ({"order_type": TRAILING_LIMIT, "trailing_offset": "50"},
         "limit_offset: a trailing_stop_limit order needs a limit_offset"),
        ({"order_type": TRAILING_LIMIT, "trailing_offset": "50", "limit_offset": "-0.01"},
         "limit_offset: -0.01 must be >= 0"),
        ({"order_type": TRAILING_MARKET, "trailing_offset": "50", "limit_offset": "1"},
         "limit_offset: a trailing_stop_market order takes no limit_offset"),
        ({"order_type": TRAILING_LIMIT, "trailing_offset": "50", "limit_offset": "1",
          "price": "29000"}, "price: a trailing_stop_limit order takes no price"),
        ({"order_type": OrderType.LIMIT, "price": "30000", "trailing_offset": "50"},
         "trailing_offset: a limit order takes no trailing_offset"),
        ({"order_type": OrderType.LIMIT, "price": "30000", "trigger_type": TriggerType.LAST},
         "trigger_type: a limit order has no trigger to watch last"),
        ({"order_type": OrderType.STOP_MARKET, "trigger_price": "31000",
          "trigger_type": TriggerType.BID_ASK}, None),
        ({"order_type": OrderType.STOP_MARKET, "trigger_price": "31000",
          "trigger_type": TriggerType.MARK},
         "trigger_type: mark needs mark-price data, which the engine does not have"),
    ],
)
def test_submit_order_trailing_terms_and_trigger_type_are_checked(
    overrides: dict[str, Any], expected: str | None
) -> None:
    rig = _rig(last_price=30000.0)
    fields = {key: Decimal(value) if type(value) is str else value  # enums are str too
              for key, value in ({"price": None} | overrides).items()}
    command = _submit(**fields)

    rig.send(command)

    assert rig.reasons() == ([] if expected is None else [expected])
    assert rig.forwarded == ([command] if expected is None else [])


def test_submit_order_denial_copies_the_new_order_terms() -> None:
    rig = _rig()
    command = _submit(order_type=TRAILING_LIMIT, price=None, trailing_offset=Decimal("5"),
                      trailing_offset_type=TrailingOffsetType.TICKS, limit_offset=Decimal("2"),
                      trigger_type=TriggerType.MARK, reduce_only=False)

    rig.send(command)

    [denied] = rig.processed
    assert isinstance(denied, OrderDenied)
    record = order_record(denied)
    assert (record.order_type, record.trailing_offset, record.trailing_offset_type,
            record.limit_offset, record.trigger_type) == (
        TRAILING_LIMIT, Decimal("5"), TrailingOffsetType.TICKS, Decimal("2"), TriggerType.MARK)


def test_submit_order_below_min_quantity_is_denied() -> None:
    rig = _rig(instrument=make_instrument(min_quantity=Decimal("0.01")))
    enough = _submit("O-1", quantity=Decimal("0.01"))

    rig.send(enough, _submit("O-2", quantity=Decimal("0.009")))

    assert rig.forwarded == [enough]
    assert rig.reasons() == ["min_quantity: quantity 0.009 is below 0.01"]


def test_submit_order_below_min_notional_is_denied() -> None:
    rig = _rig()
    enough = _submit("O-1", quantity=Decimal("0.001"), price=Decimal("10000"))

    rig.send(enough, _submit("O-2", quantity=Decimal("0.001"), price=Decimal("9999.99")))

    assert rig.forwarded == [enough]
    assert rig.reasons() == ["min_notional: notional 9.99999 is below 10"]


def test_submit_order_above_max_order_notional_is_denied() -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000")))
    at_limit = _submit("O-1", quantity=Decimal("1.666"), price=Decimal("30000"))

    rig.send(at_limit, _submit("O-2", quantity=Decimal("2"), price=Decimal("30000.12")))

    assert rig.forwarded == [at_limit]
    assert rig.reasons() == ["max_order_notional: notional 60000.24 exceeds 50000"]


def test_submit_market_order_is_valued_at_the_last_price() -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000")), last_price=30000.004)
    small = _submit("O-1", order_type=OrderType.MARKET, price=None)

    rig.send(small, _submit("O-2", order_type=OrderType.MARKET, price=None, quantity=Decimal(2)))

    assert rig.forwarded == [small]
    assert rig.reasons() == ["max_order_notional: notional 60000 exceeds 50000"]


def test_submit_stop_market_order_is_valued_at_its_trigger_price() -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000")), last_price=1.0)
    stop = {"order_type": OrderType.STOP_MARKET, "price": None}

    rig.send(
        _submit("O-1", **stop, trigger_price=Decimal("25000"), quantity=Decimal(2)),
        _submit("O-2", **stop, trigger_price=Decimal("25000.01"), quantity=Decimal(2)),
    )

    assert [command.client_order_id for command in rig.forwarded] == ["O-1"]
    assert rig.reasons() == ["max_order_notional: notional 50000.02 exceeds 50000"]


def test_submit_market_order_without_last_price_is_denied_only_under_a_notional_limit() -> None:
    unlimited, limited = _rig(), _rig(RiskConfig(max_order_notional=Decimal("50000")))
    market = _submit(order_type=OrderType.MARKET, price=None)

    unlimited.send(market)
    limited.send(market)

    assert unlimited.forwarded == [market]
    assert limited.reasons() == [
        "max_order_notional: no last price for BTC/USDT.SIM to value a market order"
    ]


def test_submit_order_past_max_position_counts_strategies_and_open_orders() -> None:
    rig = _rig(RiskConfig(max_position_quantity=Decimal("3")))
    rig.positions.net[INSTRUMENT_ID, "alpha"] = Decimal("0.5")
    rig.positions.net[INSTRUMENT_ID, "beta"] = Decimal("0.5")
    to_limit = _submit("O-1", quantity=Decimal("2"))  # 1 held + 2 = 3

    rig.send(
        to_limit,
        _submit("O-2", quantity=Decimal("0.001")),  # 1 held + 2 open + 0.001
        _submit("O-3", side=OrderSide.SELL, quantity=Decimal("4.001")),  # opens a short
    )

    assert rig.forwarded == [to_limit]
    assert rig.reasons() == [
        "max_position_quantity: net position would reach 3.001, limit 3",
        "max_position_quantity: net position would reach -3.001, limit 3",
    ]


def test_submit_order_reducing_an_oversized_position_passes_the_position_limit() -> None:
    rig = _rig(RiskConfig(max_position_quantity=Decimal("3")))
    rig.positions.net[INSTRUMENT_ID, "alpha"] = Decimal("5")
    reduce = _submit("O-1", side=OrderSide.SELL, quantity=Decimal("1"))

    rig.send(reduce, _submit("O-2", side=OrderSide.BUY, quantity=Decimal("0.001")))

    assert rig.forwarded == [reduce]
    assert rig.reasons() == ["max_position_quantity: net position would reach 5.001, limit 3"]


def test_submit_order_past_max_open_orders_is_denied() -> None:
    rig = _rig(RiskConfig(max_open_orders=2))
    rig.orders.accept(_submit("OTHER", strategy_id="beta", instrument_id="ETH/USDT.SIM"))
    second = _submit("O-1")

    rig.send(second, _submit("O-2"))

    assert rig.forwarded == [second]
    assert rig.reasons() == ["max_open_orders: 2 orders open, limit 2"]


def test_submit_orders_in_one_handler_count_in_flight_orders() -> None:
    rig = _rig(RiskConfig(max_open_orders=1))
    first, second = _submit("O-1"), _submit("O-2")

    # A strategy sending two orders from one handler: risk sees the second one before
    # the order manager has handled the first.
    rig.bus.deliver(lambda _: rig.send(first, second), None)

    assert rig.forwarded == [first]
    assert rig.reasons() == ["max_open_orders: 1 orders open, limit 1"]


def test_submit_order_rate_limit_window_slides_with_the_clock() -> None:
    rig = _rig(RiskConfig(max_orders_per_interval=2, rate_interval_ns=SECOND))

    rig.send(_submit("A"))
    rig.clock.advance_to(SECOND // 2)
    rig.send(_submit("B"))
    rig.clock.advance_to(SECOND * 9 // 10)
    rig.send(_submit("C"))  # A and B are in the window
    rig.clock.advance_to(SECOND)
    rig.send(_submit("D"))  # A has left: the window is (now - 1s, now]
    rig.clock.advance_to(SECOND * 12 // 10)
    rig.send(_submit("E"))  # B and D are in the window; the denied C never counted

    assert [c.client_order_id for c in rig.forwarded] == ["A", "B", "D"]
    assert rig.reasons() == [
        "max_orders_per_interval: 2 orders in the last 1000000000 ns, limit 2",
        "max_orders_per_interval: 2 orders in the last 1000000000 ns, limit 2",
    ]


def test_submit_order_outside_the_price_band_is_denied() -> None:
    rig = _rig(RiskConfig(price_band_fraction=Decimal("0.1")), last_price=30000.0)
    at_edge = _submit("O-1", price=Decimal("33000"))

    rig.send(
        at_edge,
        _submit("O-2", price=Decimal("33000.01")),
        _submit("O-3", order_type=OrderType.STOP_MARKET, price=None,
                trigger_price=Decimal("26999.99")),
    )

    assert rig.forwarded == [at_edge]
    assert rig.reasons() == [
        "price_band_fraction: price 33000.01 is more than 0.1 away from last price 30000",
        "price_band_fraction: trigger_price 26999.99 is more than 0.1 away from last price 30000",
    ]


def test_submit_order_price_band_is_skipped_without_a_last_price() -> None:
    rig = _rig(RiskConfig(price_band_fraction=Decimal("0.1")))
    far = _submit(price=Decimal("300000"))

    rig.send(far)

    assert rig.forwarded == [far]


@pytest.mark.parametrize(
    ("state", "overrides", "expected"),
    [
        (TradingState.ACTIVE, {"quantity": Decimal("NaN")}, "quantity: NaN must be > 0"),
        (TradingState.ACTIVE, {"quantity": Decimal("Infinity")}, "quantity: Infinity must be > 0"),
        (TradingState.ACTIVE, {"price": Decimal("sNaN")}, "price: sNaN must be > 0"),
        (TradingState.ACTIVE, {"quantity": Decimal("1E+40")}, "invalid_number: "),
        (TradingState.ACTIVE, {"price": Decimal("1E+999990")}, "invalid_number: "),
        (TradingState.REDUCING, {"quantity": Decimal("NaN")}, "invalid_number: "),
    ],
)
def test_submit_order_with_malformed_numbers_is_denied_not_raised(
    state: TradingState, overrides: dict[str, Decimal], expected: str
) -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000"), trading_state=state))
    rig.positions.net[INSTRUMENT_ID, "alpha"] = Decimal("-1")

    rig.send(_submit(**overrides))

    assert rig.forwarded == []
    [reason] = rig.reasons()
    assert reason.startswith(expected)


# -- modifications ----------------------------------------------------------------------------


def test_modify_order_within_limits_is_forwarded() -> None:
    rig = _rig(RiskConfig(max_order_notional=Decimal("50000")))
    rig.send(_submit())
    modify = _modify(price=Decimal("30000.5"), quantity=Decimal("1.5"))

    rig.send(modify)

    assert rig.forwarded[1:] == [modify]
    assert rig.processed == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"price": Decimal("30000.001")},
         "price_increment: price 30000.001 is not a multiple of 0.01"),
        ({"price": Decimal("40000")},
         "price_band_fraction: price 40000 is more than 0.1 away from last price 30000"),
        ({"quantity": Decimal("1.0001")},
         "size_increment: quantity 1.0001 is not a multiple of 0.001"),
        ({"quantity": Decimal("2")}, "max_order_notional: notional 60000 exceeds 50000"),
        ({"quantity": Decimal("1.6"), "price": Decimal("29000")},
         "max_position_quantity: net position would reach 2.1, limit 2"),
        ({"trigger_price": Decimal("29000")},
         "trigger_price: a limit order takes no trigger_price"),
        ({"trailing_offset": Decimal("5")},
         "trailing_offset: a limit order takes no trailing_offset"),
    ],
)
def test_modify_order_breaking_a_rule_is_rejected(
    changes: dict[str, Decimal], expected: str
) -> None:
    config = RiskConfig(
        max_order_notional=Decimal("50000"),
        max_position_quantity=Decimal("2"),
        price_band_fraction=Decimal("0.1"),
    )
    rig = _rig(config, last_price=30000.0)
    rig.positions.net[INSTRUMENT_ID, "alpha"] = Decimal("0.5")
    rig.send(_submit())

    rig.send(_modify(**changes))

    assert len(rig.forwarded) == 1
    assert rig.processed == [
        OrderModifyRejected(
            strategy_id="alpha",
            client_order_id="O-1",
            instrument_id=INSTRUMENT_ID,
            reason=expected,
            ts_event=0,
            ts_init=0,
        )
    ]


def test_modify_order_when_halted_is_rejected_and_when_reducing_only_if_it_grows() -> None:
    rig = _rig()
    rig.send(_submit())
    smaller, larger = _modify(quantity=Decimal("0.5")), _modify(quantity=Decimal("2"))

    rig.send(SetTradingState(state=TradingState.HALTED, ts_event=0, ts_init=0), smaller)
    rig.send(SetTradingState(state=TradingState.REDUCING, ts_event=0, ts_init=0), smaller, larger)

    assert rig.forwarded[1:] == [smaller]
    assert rig.reasons() == [
        "trading_state: halted, orders can only be canceled",
        "trading_state: reducing, buy 2 would not reduce net position 0",
    ]


def test_modify_order_for_an_unknown_order_is_left_to_the_order_manager() -> None:
    rig = _rig(RiskConfig(trading_state=TradingState.HALTED))
    modify = _modify("NOPE", price=Decimal("1"))

    rig.send(modify)

    assert rig.forwarded == [modify]
    assert rig.processed == []


# -- trading state and statistics --------------------------------------------------------------


def test_set_trading_state_publishes_trading_state_changed_once() -> None:
    rig = _rig()
    rig.clock.advance_to(5 * SECOND)
    halt = SetTradingState(state=TradingState.HALTED, reason="kill switch", ts_event=0, ts_init=0)

    rig.send(halt, halt)

    assert rig.risk.trading_state is TradingState.HALTED
    assert rig.system == [
        TradingStateChanged(
            state=TradingState.HALTED, reason="kill switch", ts_event=5 * SECOND,
            ts_init=5 * SECOND,
        )
    ]


def test_statistics_count_checked_denied_forwarded_and_reasons_in_key_order() -> None:
    rig = _rig(RiskConfig(max_open_orders=1))
    cancel = CancelOrder(
        strategy_id="alpha", client_order_id="O-1", instrument_id=INSTRUMENT_ID,
        ts_event=0, ts_init=0,
    )

    rig.send(
        _submit("O-1"),
        _submit("O-2"),
        _submit("O-3", instrument_id="ETH/USDT.SIM"),
        _submit("O-4", quantity=Decimal(0)),
        cancel,
    )

    statistics = rig.risk.statistics()
    assert statistics.commands_checked == 4
    assert statistics.commands_denied == 3
    assert statistics.commands_forwarded == 2
    assert list(statistics.denied_by_reason.items()) == [
        ("max_open_orders", 1),
        ("quantity", 1),
        ("unknown_instrument", 1),
    ]
    assert statistics.trading_state is TradingState.ACTIVE


# -- config ---------------------------------------------------------------------------------------


def test_risk_config_decodes_limits_and_refuses_unknown_or_non_positive_fields() -> None:
    config = msgspec.convert(
        {"max_order_notional": "50000", "max_open_orders": 10, "trading_state": "reducing"},
        RiskConfig,
    )

    assert config.max_order_notional == Decimal("50000")
    assert config.trading_state is TradingState.REDUCING
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"max_notional": "1"}, RiskConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"max_open_orders": 0}, RiskConfig)
    with pytest.raises(ValueError, match="price_band_fraction 0: must be a finite number > 0"):
        RiskConfig(price_band_fraction=Decimal(0))
    with pytest.raises(ValueError, match="rate_interval_ns 0: must be > 0"):
        RiskConfig(rate_interval_ns=0)
