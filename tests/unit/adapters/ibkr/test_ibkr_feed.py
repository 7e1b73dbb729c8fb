"""The feed binding's static face: what the node reads before it runs."""

from __future__ import annotations

from adapters.ibkr import IbkrContractConfig, IbkrFeedBinding, IbkrFeedConfig
from engine.events.market import BarType

AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")


def test_a_bars_only_feed_is_a_5s_bar_source_and_never_finishes() -> None:
    binding = IbkrFeedBinding(IbkrFeedConfig(instrument_id="AAPL.IBKR", contract=AAPL,
                                             data=("bars",)))

    assert binding.bar_type == BarType(instrument_id="AAPL.IBKR", timeframe="5s")
    assert binding.first_event_time() is None and not binding.finished.is_set()
    assert binding.client is None and binding.statistics() is None


def test_a_mixed_feed_declares_no_bar_source() -> None:
    binding = IbkrFeedBinding(IbkrFeedConfig(instrument_id="AAPL.IBKR", contract=AAPL,
                                             data=("quotes", "bars")))

    assert binding.bar_type is None
