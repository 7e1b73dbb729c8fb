"""make_exchange: URL overrides applied, and Binance's error table still found by its host."""

from __future__ import annotations

import pytest

from adapters.ccxt import CcxtConfig, make_exchange
from adapters.ccxt.exchange import rewrite_urls

FAKE = "http://127.0.0.1:9"
OVERRIDES = {"https://api.binance.com": FAKE}


def test_rewrite_urls_replaces_prefixes_in_the_nested_table_only() -> None:
    table = {"rest": {"public": "https://api.binance.com/api/v3",
                      "futures": "https://fapi.binance.com/fapi/v1"}, "n": 1}

    assert rewrite_urls(table, OVERRIDES) == {
        "rest": {"public": f"{FAKE}/api/v3", "futures": "https://fapi.binance.com/fapi/v1"},
        "n": 1}


async def test_error_table_of_an_overridden_host_is_the_production_spot_table() -> None:
    exchange = make_exchange(CcxtConfig(urls=OVERRIDES))
    plain = make_exchange(CcxtConfig())
    try:
        mapped = exchange.get_exceptions_by_url(f"{FAKE}/api/v3/order", "exact")
        production = plain.get_exceptions_by_url("https://api.binance.com/api/v3/order", "exact")
        unmapped = plain.get_exceptions_by_url(f"{FAKE}/api/v3/order", "exact")
    finally:
        await exchange.close()
        await plain.close()

    assert mapped == production and "-1004" in mapped
    assert unmapped == {}  # what ccxt alone would use for the fake's host
    assert exchange.urls["api"]["public"] == f"{FAKE}/api/v3"


def test_only_binance_is_supported() -> None:
    with pytest.raises(ValueError, match="kraken"):
        make_exchange(CcxtConfig(exchange_id="kraken"))


def test_sandbox_with_url_overrides_is_refused() -> None:
    with pytest.raises(ValueError, match="sandbox and urls"):
        make_exchange(CcxtConfig(sandbox=True, urls=OVERRIDES))
