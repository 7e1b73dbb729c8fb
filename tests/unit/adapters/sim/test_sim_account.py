"""The simulated venue's cash account (`cash_account = true`): an order the free balance
cannot cover is rejected with a reason, as a spot exchange rejects it; open orders hold
what they may draw; fills move the balances as the portfolio books them."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from test_sim_venue import T0, Harness, make_instrument

from adapters.sim.account import CashAccount
from adapters.sim.venue import SimVenue, SimVenueConfig, SimVenueSnapshot
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderType
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.orders import (
    OrderAccepted,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
)
from engine.instruments import InstrumentRegistry
from engine.topics import ORDERS_PROCESS

D = Decimal
CASH = SimVenueConfig(cash_account=True)
BALANCES = {"USDT": D("10000"), "BTC": D("0.5")}


class Account(Harness):
    """The venue harness with a cash account of BALANCES."""

    def __init__(self, config: SimVenueConfig = CASH) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(T0)
        self.sent: list[Message] = []
        self.bus.register_endpoint(ORDERS_PROCESS, self.sent.append)
        self.venue = SimVenue(config, InstrumentRegistry([make_instrument()]),
                              starting_balances=BALANCES)
        self.venue.register(self.bus, self.clock)
        self.venue.start()
        self.bar(0, 20_000.0, 20_000.0, 20_000.0, 20_000.0)  # a last price: 20,000

    def rejections(self) -> list[str]:
        return [m.reason for m in self.sent if type(m) is OrderRejected]

    def account(self) -> CashAccount:
        account = self.venue._account
        assert account is not None
        return account


def test_a_cash_account_needs_the_starting_balances() -> None:
    with pytest.raises(ValueError, match="cash_account"):
        SimVenue(CASH, InstrumentRegistry([make_instrument()]))


def test_a_buy_the_quote_balance_cannot_cover_is_rejected_naming_what_it_needs() -> None:
    venue = Account()

    # 0.6 BTC at 20,000 plus the 0.1% taker fee: 12,012 USDT, 10,000 free.
    venue.submit(client_order_id="big", quantity=D("0.6"))
    venue.submit(client_order_id="fits", quantity=D("0.4"))

    assert venue.rejections() == [
        "insufficient balance: the order needs 12012 USDT, 10000 is free (0 held by open "
        "orders)"]
    assert [m.client_order_id for m in venue.sent if type(m) is OrderAccepted] == ["fits"]


def test_open_orders_hold_what_they_may_draw_and_free_it_when_they_close() -> None:
    venue = Account()
    venue.submit(client_order_id="L1", order_type=OrderType.LIMIT, quantity=D("0.3"),
                 price=D("19000"))  # holds 0.3 x 19,000 x 1.001 = 5,705.70
    venue.submit(client_order_id="L2", order_type=OrderType.LIMIT, quantity=D("0.3"),
                 price=D("19000"))

    assert venue.account().held("USDT") == D("5705.7")
    assert venue.rejections() == [
        "insufficient balance: the order needs 5705.7 USDT, 4294.3 is free (5705.7 held "
        "by open orders)"]
    venue.cancel("L1")
    assert venue.account().held("USDT") == 0
    venue.submit(client_order_id="L3", order_type=OrderType.LIMIT, quantity=D("0.3"),
                 price=D("19000"))
    assert [m.client_order_id for m in venue.sent if type(m) is OrderAccepted] == ["L1", "L3"]


def test_a_sell_needs_the_base_it_sells() -> None:
    venue = Account()

    venue.submit(client_order_id="short", side=OrderSide.SELL, quantity=D("0.6"))
    venue.submit(client_order_id="sell", side=OrderSide.SELL, quantity=D("0.5"))

    assert venue.rejections() == [
        "insufficient balance: the order needs 0.6 BTC, 0.5 is free (0 held by open orders)"]


def test_fills_move_the_balances_as_the_portfolio_books_them() -> None:
    venue = Account()
    venue.submit(quantity=D("0.25"))  # a market buy, filled at the next bar's open
    venue.bar(1, 20_100.0, 20_200.0, 20_000.0, 20_150.0)

    fill = next(m for m in venue.sent if type(m) is OrderFilled)
    assert venue.account().balances() == {
        "USDT": D("10000") - D("0.25") * D("20100") - fill.commission,
        "BTC": D("0.75")}
    assert venue.account().held("USDT") == 0  # filled: nothing held any more


def test_a_partial_fill_shrinks_the_hold_by_what_filled() -> None:
    venue = Account(SimVenueConfig(cash_account=True, max_volume_fraction=0.1))
    venue.submit(order_type=OrderType.LIMIT, quantity=D("0.4"), price=D("20000"))
    venue.bar(1, 20_000.0, 20_000.0, 19_900.0, 19_950.0, volume=1.0)  # fills 0.1

    assert sum(m.last_quantity for m in venue.sent if type(m) is OrderFilled) == D("0.1")
    assert venue.account().held("USDT") == D("0.3") * D("20000") * D("1.001")


def test_a_modify_is_held_again_and_refused_when_the_balance_cannot_cover_it() -> None:
    venue = Account()
    venue.submit(order_type=OrderType.LIMIT, quantity=D("0.3"), price=D("19000"))
    venue.modify(quantity=D("0.4"))  # 0.4 x 19,000 x 1.001 = 7,607.60: fits
    venue.modify(quantity=D("0.6"))  # 11,411.40: does not

    assert [type(m) for m in venue.sent[-2:]] == [OrderUpdated, OrderModifyRejected]
    rejected = venue.sent[-1]
    assert isinstance(rejected, OrderModifyRejected)
    assert rejected.reason.startswith("insufficient balance: the order needs 11411.4 USDT")
    assert venue.account().held("USDT") == D("7607.6")


def test_the_account_survives_a_venue_snapshot() -> None:
    venue = Account()
    venue.submit(client_order_id="M", quantity=D("0.1"))
    venue.bar(1, 20_100.0, 20_200.0, 20_000.0, 20_150.0)
    venue.submit(client_order_id="L", order_type=OrderType.LIMIT, quantity=D("0.2"),
                 price=D("19000"))
    snapshot = msgspec.msgpack.decode(msgspec.msgpack.encode(venue.venue.snapshot_state()),
                                      type=SimVenueSnapshot)

    restored = Account()
    restored.venue.restore_state(snapshot)

    assert restored.account().balances() == venue.account().balances()
    assert restored.account().held("USDT") == venue.account().held("USDT") > 0


def test_without_a_cash_account_the_venue_checks_no_balance() -> None:
    venue = Harness()
    venue.submit(quantity=D("1000000"))
    assert [type(m) for m in venue.sent] == [OrderAccepted]


