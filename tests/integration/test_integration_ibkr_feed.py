"""IbkrFeedBinding on the fake gateway: warm-up bars first, then live data, as a FeedBinding."""

from __future__ import annotations

from decimal import Decimal

import anyio
import msgspec
import pytest

from adapters.ibkr import IbkrFeedBinding, IbkrFeedConfig
from engine.events.market import Bar, QuoteTick
from engine.ports import MarketData
from engine.testing.conformance import EventRecorder
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws, decode_error_guard

pytestmark = pytest.mark.integration

AAPL_CON_ID = 265598
START_S = 1_764_684_000


class StepClock:
    """A FeedClock at a fixed engine time (the node's clock in a test)."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def timestamp_ns(self) -> int:
        return self.now_ns

    async def sleep_until(self, ts_ns: int) -> None:
        self.now_ns = max(self.now_ns, ts_ns)
        await anyio.lowlevel.checkpoint()


def feed_config(port: int) -> IbkrFeedConfig:
    text = f"""
        kind = "ibkr"
        instrument_id = "AAPL.IBKR"
        data = ["bars", "quotes"]
        warmup_bars = 3
        [contract]
        instrument_id = "AAPL.IBKR"
        sec_type = "STK"
        symbol = "AAPL"
        [connection]
        port = {port}
        client_id = 31
        connect_timeout_s = 2.0
    """
    return msgspec.toml.decode(text, type=IbkrFeedConfig)


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_feed_delivers_unjournaled_warmup_bars_then_live_data(server_version: int) -> None:
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            fake.historical_bars[AAPL_CON_ID] = [
                (START_S + 5 * i, 150.0, 150.2, 149.8, 150.0 + i / 10, 100.0) for i in range(4)
            ]
            binding = IbkrFeedBinding(feed_config(fake.port))
            recorder = EventRecorder()

            def deliver(item: MarketData) -> None:
                recorder(item)

            journaled_until = (START_S + 10) * 1_000_000_000  # the bar of START_S + 5 s
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(lambda: binding.run(clock=StepClock(7), deliver=deliver,
                                                     resume_after=(journaled_until, 1)))
                with anyio.fail_after(5):
                    await fake.wait_until(lambda: fake.subscriber_count(AAPL_CON_ID) == 1)
                    fake.push_quote(AAPL_CON_ID, Decimal("150.10"), Decimal("150.12"),
                                    Decimal(5), Decimal(5))
                    await recorder.wait_for(lambda e: isinstance(e, QuoteTick))
                tasks.cancel_scope.cancel()

    bars = [e for e in recorder.events if isinstance(e, Bar)]
    assert [bar.close for bar in bars] == [150.2, 150.3]  # the 3 newest, minus the journaled
    assert isinstance(recorder.events[-1], QuoteTick) and recorder.events[-1].ts_init == 7
    assert binding.bar_type is None and binding.first_event_time() is None
    assert not binding.finished.is_set()
