"""The error table: what each ccxt error means to the adapter."""

from __future__ import annotations

import ccxt
import pytest

from adapters.ccxt import Outcome, classify
from adapters.ccxt.errors import reason_of, unwrap


@pytest.mark.parametrize(("error", "outcome"), [
    (ccxt.AuthenticationError("x"), Outcome.STOP),
    (ccxt.InsufficientFunds("x"), Outcome.REJECT),
    (ccxt.InvalidOrder("x"), Outcome.REJECT),
    (ccxt.OrderNotFound("x"), Outcome.REJECT),
    (ccxt.DDoSProtection("x"), Outcome.REFUSED),
    (ccxt.RateLimitExceeded("x"), Outcome.REFUSED),
    (ccxt.RequestTimeout("x"), Outcome.UNKNOWN),
    (ccxt.ExchangeNotAvailable("x"), Outcome.UNKNOWN),
    (ccxt.NetworkError("x"), Outcome.UNKNOWN),
    (ccxt.OperationFailed("x"), Outcome.UNKNOWN),
    (TimeoutError(), Outcome.UNKNOWN),
], ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value))
def test_classify(error: BaseException, outcome: Outcome) -> None:
    assert classify(error) is outcome


def test_unwrap_finds_the_ccxt_error_behind_a_cleanup_key_error() -> None:
    try:
        try:
            raise ccxt.AuthenticationError("refused")
        except ccxt.AuthenticationError:
            raise KeyError("spot") from None
    except KeyError as raised:
        raised.__context__ = ccxt.AuthenticationError("refused")
        found = unwrap(raised)

    assert isinstance(found, ccxt.AuthenticationError)
    assert classify(KeyError("plain")) is Outcome.REJECT
    assert reason_of(ccxt.InvalidOrder("binance bad")) == "InvalidOrder: binance bad"
