"""Build the ccxt.pro exchange object the adapter drives, pointed where the config says.

`make_exchange` returns a `ccxt.pro.binance` subclass (`TradebusBinance`) with:
- spot-only market loading (no currencies, no margin pairs: private calls the adapter
  does not need and a fake need not serve);
- the config's URL overrides applied to every string in `urls["api"]`;
- error responses from an overridden host looked up under the original host, so the
  Binance-specific error table (chosen by hostname inside ccxt) maps codes as it does
  in production;
- ccxt's rate limiter on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt.pro as ccxtpro

from adapters.ccxt.config import CcxtConfig, CcxtConnection
from engine.config import Secret, secret_from_env

__all__ = ("TradebusBinance", "credentials", "make_exchange", "rewrite_urls")


def rewrite_urls(node: Any, overrides: dict[str, str]) -> Any:
    """Return `node` (ccxt's nested URL table) with every overridden prefix replaced."""
    if isinstance(node, dict):
        return {key: rewrite_urls(value, overrides) for key, value in node.items()}
    if isinstance(node, str):
        for original, replacement in overrides.items():
            if node.startswith(original):
                return replacement + node[len(original):]
    return node


class TradebusBinance(ccxtpro.binance):  # type: ignore[misc]
    """ccxt.pro's Binance with URL overrides that keep the production error table."""

    url_overrides: dict[str, str] = {}

    def get_exceptions_by_url(self, url: str | None, exactOrBroad: str) -> dict[str, Any]:
        if url is not None:
            for original, replacement in self.url_overrides.items():
                if url.startswith(replacement):
                    url = original + url[len(replacement):]
                    break
        result: dict[str, Any] = super().get_exceptions_by_url(url, exactOrBroad)
        return result


def make_exchange(config: CcxtConnection, api_key: Secret | None = None,
                  secret: Secret | None = None) -> TradebusBinance:
    """The exchange object for `config` (not connected: ccxt connects on first use).

    Without credentials it reaches public market data only.

    Raises:
        ValueError: `exchange_id` is not one this adapter supports, or both `sandbox` and
            `urls` are given.
    """
    if config.exchange_id != "binance":
        raise ValueError(f"exchange_id {config.exchange_id!r}: only 'binance' (spot) is "
                         "supported by this adapter")
    if config.sandbox and config.urls:
        raise ValueError("sandbox and urls: give one (sandbox switches ccxt to the testnet's "
                         "own URLs, which the overrides of production URLs would not match)")
    keys = {} if api_key is None or secret is None else {
        "apiKey": api_key.reveal(), "secret": secret.reveal()}
    exchange = TradebusBinance({
        **keys,
        "enableRateLimit": True,
        "timeout": int(config.request_timeout_s * 1000),
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "defaultType": "spot",
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    })
    if isinstance(config, CcxtConfig):
        exchange.options["recvWindow"] = int(config.recv_window_s * 1000)
    if config.sandbox:
        exchange.set_sandbox_mode(True)
    if config.urls:
        exchange.url_overrides = dict(config.urls)
        exchange.urls["api"] = rewrite_urls(exchange.urls["api"], dict(config.urls))
    return exchange


def credentials(config: CcxtConfig,
                environ: Mapping[str, str] | None = None) -> tuple[Secret, Secret]:
    """The API key and secret from the environment variables `config` names.

    Raises:
        ConfigError: a variable is not set (named `env.<variable>`).
    """
    return (secret_from_env(config.api_key_env, environ=environ),
            secret_from_env(config.secret_env, environ=environ))
