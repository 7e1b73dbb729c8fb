"""The execution-client conformance suite: IbkrExecutionClient on the fake TWS gateway.

Every check runs at both server versions through the real ib_async client. The market
is AAPL at 150.00; `trade_through` trades the fake's book, and `wait_settled` is a
reqCurrentTime round trip (the gateway answers it after all it sent before).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from adapters.ibkr import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrExecutionClient,
    IbkrVenueConfig,
)
from engine.domain.enums import OrderSide
from engine.events.base import Event
from engine.events.market import Instrument
from engine.testing import make_instrument
from engine.testing.conformance import (
    EXECUTION_CHECKS,
    EventRecorder,
    ExecutionCheck,
    check_name,
)
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws, decode_error_guard

pytestmark = pytest.mark.integration

AAPL_CON_ID = 265598
MARKET = Decimal("150.00")
TEN = Decimal(10)
AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")


def venue_config(port: int, client_id: int = 11) -> IbkrVenueConfig:
    return IbkrVenueConfig(
        venue="IBKR",
        connection=IbkrConnectionConfig(
            port=port, client_id=client_id, connect_timeout_s=2.0,
            backoff=BackoffConfig(initial_s=0.01, maximum_s=0.05, seed=7),
        ),
        contracts=(AAPL,),
    )


class IbkrHarness:
    """The client on a FakeTws, and the fake's market for the checks."""

    def __init__(self, fake: FakeTws, *, timeout: float = 3.0) -> None:
        self.fake = fake
        self.recorder = EventRecorder()
        self.ibkr = IbkrExecutionClient(venue_config(fake.port), self.recorder)
        self.client = self.ibkr
        self.instrument: Instrument = make_instrument(
            instrument_id="AAPL.IBKR", symbol="AAPL", venue="IBKR", base_currency="AAPL",
            quote_currency="USD", price_increment=Decimal("0.01"), size_increment=Decimal(1),
            min_quantity=Decimal(1), min_notional=Decimal(0),
        )
        self.quantity = Decimal(1)
        self.timeout = timeout

    @property
    def events(self) -> Sequence[Event]:
        return self.recorder.events

    def resting_price(self, side: OrderSide) -> Decimal:
        return MARKET - TEN if side is OrderSide.BUY else MARKET + TEN

    def marketable_price(self, side: OrderSide) -> Decimal:
        return MARKET + TEN / 2 if side is OrderSide.BUY else MARKET - TEN / 2

    async def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        return await self.recorder.wait_for(predicate)

    async def wait_settled(self) -> None:
        await self.ibkr.ib.reqCurrentTimeAsync()

    async def trade_through(self, price: Decimal, *, max_quantity: Decimal | None = None) -> None:
        await self.wait_settled()  # the orders sent so far have reached the fake
        self.fake.trade_through(AAPL_CON_ID, price, max_quantity)
        await self.wait_settled()


@asynccontextmanager
async def harness_on(server_version: int) -> AsyncIterator[IbkrHarness]:
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            yield IbkrHarness(fake)


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
@pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
async def test_conformance(check: ExecutionCheck, server_version: int) -> None:
    async with harness_on(server_version) as harness:
        await check(harness)
