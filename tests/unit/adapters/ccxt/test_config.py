"""The adapter's config: decoded strictly, bounds named, credentials only by variable name."""

from __future__ import annotations

import msgspec
import pytest

from adapters.ccxt import CcxtConfig, CcxtVenueEntry, credentials
from engine.errors import ConfigError


def test_venue_entry_decodes_tagged_and_refuses_unknown_fields() -> None:
    entry = msgspec.convert({"kind": "ccxt", "symbols": ["BTC/USDT"], "sandbox": True},
                            type=CcxtVenueEntry)

    assert entry.symbols == ["BTC/USDT"] and entry.sandbox
    with pytest.raises(msgspec.ValidationError, match="api_key"):
        msgspec.convert({"kind": "ccxt", "api_key": "secret-in-file"}, type=CcxtVenueEntry)


def test_bounds_are_checked_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match="backstop_concurrency"):
        msgspec.convert({"backstop_concurrency": 0}, type=CcxtConfig)


def test_credentials_come_from_the_named_variables_and_hide_themselves() -> None:
    key, secret = credentials(CcxtConfig(api_key_env="K", secret_env="S"),
                              {"K": "key-value", "S": "secret-value"})

    assert key.reveal() == "key-value" and "secret-value" not in repr(secret)
    with pytest.raises(ConfigError, match="env.S"):
        credentials(CcxtConfig(api_key_env="K", secret_env="S"), {"K": "key-value"})
