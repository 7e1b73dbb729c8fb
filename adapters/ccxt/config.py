"""The ccxt adapter's config: which exchange, which symbols, where credentials come from.

Credentials are never in the file: `api_key_env` and `secret_env` name environment
variables, read once when the client is built (`engine.config.secret_from_env`).

`urls` overrides where the exchange lives: each key is a URL prefix of ccxt's own
table (`exchange.urls["api"]`), each value what replaces it. Empty (the default) is the
real exchange; a test points it at a fake, a user at a proxy. The adapter maps error
responses back to the original host, so ccxt's exchange-specific error table still
applies (ccxt picks it by hostname). `sandbox` switches ccxt to the exchange's testnet.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from engine.ports import DataSubscription

__all__ = ("CcxtConfig", "CcxtConnection", "CcxtFeedEntry", "CcxtVenueEntry")

PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class CcxtConnection(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where an exchange is and how to keep a connection to it (market data needs no more).

    Attributes:
        venue: the venue name instruments carry (`BTC/USDT.<venue>`).
        exchange_id: the ccxt exchange id; only "binance" (spot) is supported.
        sandbox: use the exchange's testnet (ccxt's sandbox mode).
        urls: URL prefix overrides (production prefix -> replacement).
        request_timeout_s: how long one REST request may take before it is in doubt.
        reconnect_initial_s, reconnect_max_s: exponential backoff bounds.
        stale_after_s: a market stream silent this long is reconnected.
        jitter_seed: seed of the backoff jitter (repeatable runs).
    """

    venue: str = "BINANCE"
    exchange_id: str = "binance"
    sandbox: bool = False
    urls: dict[str, str] = msgspec.field(default_factory=dict)
    request_timeout_s: PositiveSeconds = 10.0
    reconnect_initial_s: PositiveSeconds = 0.5
    reconnect_max_s: PositiveSeconds = 30.0
    stale_after_s: PositiveSeconds = 30.0
    jitter_seed: int = 0


class CcxtConfig(CcxtConnection, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One exchange account traded through ccxt (see the module docstring).

    Attributes:
        symbols: ccxt unified symbols to trade ("BTC/USDT"); at least one.
        api_key_env, secret_env: environment variables holding the credentials.
        recv_window_s: the exchange drops a signed request older than this, so a submit
            not found this long after it was sent never arrived.
        backstop_interval_s: how often in-flight orders are checked by REST.
        backstop_concurrency: at most this many backstop requests at once.
        retry_attempts: tries of a refused (rate-limited) request before giving up.
    """

    symbols: list[str] = msgspec.field(default_factory=list)
    api_key_env: str = "TRADEBUS_BINANCE_API_KEY"
    secret_env: str = "TRADEBUS_BINANCE_SECRET"
    recv_window_s: PositiveSeconds = 5.0
    backstop_interval_s: PositiveSeconds = 5.0
    backstop_concurrency: Annotated[int, msgspec.Meta(ge=1, le=16)] = 4
    retry_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


class CcxtVenueEntry(
    CcxtConfig, tag_field="kind", tag="ccxt", frozen=True, kw_only=True,
    forbid_unknown_fields=True,
):
    """A `[[venues]] kind = "ccxt"` entry: the adapter's config, tagged."""

    journal_identity_fields: ClassVar[tuple[str, ...]] = ("venue", "exchange_id", "sandbox")
    """What makes a journal this venue's: the exchange and which of its environments (the
    account is the credentials'). Timeouts, URLs, backoff and the backstop are an
    operator's to change between sessions: the journal's inputs do not depend on them."""


class CcxtFeedEntry(
    CcxtConnection, tag_field="kind", tag="ccxt", frozen=True, kw_only=True,
    forbid_unknown_fields=True,
):
    """A `[[feeds]] kind = "ccxt"` entry: a connection and the one stream it carries
    (public data: no credentials)."""

    instrument_id: str
    stream: Literal["bars", "trades", "quotes", "book"] = "bars"
    timeframe: str = "1m"
    depth: int | None = None

    @property
    def subscription(self) -> DataSubscription:
        return DataSubscription(
            kind=self.stream, instrument_id=self.instrument_id,
            timeframe=self.timeframe if self.stream == "bars" else None,
            depth=self.depth if self.stream == "book" else None,
        )
