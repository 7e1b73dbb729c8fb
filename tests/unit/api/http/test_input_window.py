"""The window on market data inputs the collector's feed latency histogram reads."""

from __future__ import annotations

import pytest

from api.http.input_window import InputWindow
from engine.testing import make_bar


def test_window_keeps_the_newest_inputs_and_counts_the_overwritten() -> None:
    window = InputWindow(capacity=3)
    bars = [make_bar(close=float(n), ts_event=n) for n in range(1, 6)]

    for bar in bars:
        window.watch(bar)
    window.watch("not market data")  # the data lane carries other inputs too

    assert window.inputs_seen == 5 and window.overwritten == 2
    assert window.take() == bars[2:]
    assert window.take() == [] and window.overwritten == 2


def test_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity 0"):
        InputWindow(capacity=0)
