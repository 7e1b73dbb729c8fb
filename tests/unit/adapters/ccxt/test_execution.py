"""The execution-client conformance suite run on the real ccxt.pro client against the fake.

`CcxtHarness` is a CcxtExecutionClient built on a fake Binance whose book is 99.99 bid,
100.01 ask: resting prices are 90 / 110, marketable ones 105 / 95 (they fill against
the book at once). `trade_through` makes the fake trade at a price, filling resting
orders there. `wait_settled` waits until the private stream has gone quiet: the fake's
sockets flushed and no event delivered for a short while (there is no message count a
ccxt client exposes to wait on exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import anyio
import pytest

from adapters.ccxt import CcxtExecutionClient
from engine.domain.enums import OrderSide, OrderType, TimeInForce
from engine.events.base import Event
from engine.events.orders import OrderRejected, SubmitOrder
from engine.testing.conformance import (
    EXECUTION_CHECKS,
    EventRecorder,
    ExecutionCheck,
    check_name,
    running,
)
from tests.fakes.binance import FakeBinance
from tests.fakes.binance.ccxt_support import binance_instrument

QUIET_S = 0.15


class CcxtHarness:
    """See the module docstring."""

    def __init__(self, fake: FakeBinance, make_client: Callable[..., CcxtExecutionClient]):
        self.fake = fake
        self.recorder = EventRecorder()
        self.client: CcxtExecutionClient = make_client(self.recorder)
        self.instrument = binance_instrument()
        self.quantity = Decimal("0.1")
        self.timeout = 5.0

    @property
    def events(self) -> Sequence[Event]:
        return self.recorder.events

    def resting_price(self, side: OrderSide) -> Decimal:
        return Decimal(90) if side is OrderSide.BUY else Decimal(110)

    def marketable_price(self, side: OrderSide) -> Decimal:
        return Decimal(105) if side is OrderSide.BUY else Decimal(95)

    async def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        return await self.recorder.wait_for(predicate)

    async def wait_settled(self) -> None:
        with anyio.fail_after(self.timeout):
            seen = -1
            while seen != len(self.recorder.events):
                seen = len(self.recorder.events)
                await anyio.sleep(QUIET_S)

    async def trade_through(self, price: Decimal, *, max_quantity: Decimal | None = None) -> None:
        self.fake.trade_through(price, max_quantity)
        await anyio.lowlevel.checkpoint()


@pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
async def test_ccxt_execution_client_passes(
    check: ExecutionCheck, fake: FakeBinance, make_client: Callable[..., CcxtExecutionClient]
) -> None:
    harness = CcxtHarness(fake, make_client)

    await check(harness)

    assert fake.state.open_orders(None) == []  # each check cleans up


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"order_type": OrderType.STOP_MARKET, "trigger_price": Decimal(90)},
         "order_type stop_market: not placed by this adapter"),
        ({"order_type": OrderType.MARKET_IF_TOUCHED, "trigger_price": Decimal(90)},
         "order_type market_if_touched: not placed by this adapter"),
        ({"order_type": OrderType.TRAILING_STOP_MARKET, "trailing_offset": Decimal(1)},
         "order_type trailing_stop_market: not placed by this adapter"),
        ({"time_in_force": TimeInForce.DAY}, "time_in_force day: not placed by this adapter"),
        ({"time_in_force": TimeInForce.GTD, "expire_ns": 2**62},
         "time_in_force gtd: not placed by this adapter"),
        ({"order_type": OrderType.MARKET, "price": None, "time_in_force": TimeInForce.FOK},
         "time_in_force fok: a market order here fills what the book has"),
    ],
)
async def test_ccxt_execution_client_refuses_what_it_cannot_place_with_a_reason(
    overrides: dict[str, object], reason: str, fake: FakeBinance,
    make_client: Callable[..., CcxtExecutionClient],
) -> None:
    harness = CcxtHarness(fake, make_client)
    fields: dict[str, object] = {
        "strategy_id": "s", "client_order_id": "refused-1",
        "instrument_id": harness.instrument.instrument_id, "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT, "quantity": harness.quantity, "price": Decimal(90),
        "ts_event": 0, "ts_init": 0,
    }

    async with running(harness) as client:
        await client.submit_order(SubmitOrder(**(fields | overrides)))  # type: ignore[arg-type]
        rejected = await harness.wait_for(lambda event: isinstance(event, OrderRejected))

    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith(reason)
    assert fake.state.open_orders(None) == []
