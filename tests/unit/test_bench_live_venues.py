"""The benchmark's live venue figures (tests/bench/live_venues.py, run by run.py) come
out at a tiny size: ccxt.pro parses Binance messages into engine events, and a trade at
the fake Binance and a tick at the fake TWS gateway each become an order that reaches
the fake, through the node `tradebus run` builds. Their speed is measured only by the
benchmark."""

from __future__ import annotations

from bench_support import run_bench


def test_live_venues_bench_parses_and_places_orders_at_both_fakes() -> None:
    figures = run_bench("live_venues.py", "--messages", "400", "--samples", "3")

    assert figures["ccxt_parse_messages_per_second"] > 0
    assert figures["ccxt_parse_book_deltas"] > 0  # the depth updates became BookDeltas
    assert figures["ccxt_tick_to_order_samples"] == 3
    assert figures["ibkr_tick_to_order_samples"] == 3
    assert 0 < figures["ccxt_tick_to_order_median_us"] <= figures["ccxt_tick_to_order_p99_us"]
    assert 0 < figures["ibkr_tick_to_order_median_us"] <= figures["ibkr_tick_to_order_p99_us"]
