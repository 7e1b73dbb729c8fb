"""IBKR config entries: defaults, and errors that name the field."""

from __future__ import annotations

import msgspec
import pytest

from adapters.ibkr import (
    IbkrContractConfig,
    IbkrExecutionClient,
    IbkrFeedConfig,
    IbkrVenueConfig,
)
from engine.domain.enums import ContingencyType


def decode_venue(text: str) -> IbkrVenueConfig:
    return msgspec.toml.decode(text, type=IbkrVenueConfig)


def test_venue_defaults_to_the_paper_gateway_port_and_smart_routing() -> None:
    config = decode_venue('kind = "ibkr"\n[[contracts]]\ninstrument_id = "AAPL.IBKR"\n'
                          'sec_type = "STK"\nsymbol = "AAPL"\n')

    assert (config.connection.host, config.connection.port, config.connection.client_id) == (
        "127.0.0.1", 4002, 1)
    assert config.contracts[0].routed_exchange == "SMART"


def test_fx_pair_routes_to_idealpro() -> None:
    pair = IbkrContractConfig(instrument_id="EUR/USD.IBKR", sec_type="CASH", symbol="EUR")

    assert pair.routed_exchange == "IDEALPRO"


@pytest.mark.parametrize(("fields", "message"), [
    ({"sec_type": "FUT", "symbol": "ES", "exchange": "CME"}, "expiry"),
    ({"sec_type": "FUT", "symbol": "ES", "expiry": "202703"}, "exchange"),
    ({"sec_type": "STK", "symbol": "AAPL", "expiry": "202703"}, "only futures"),
    ({"sec_type": "STK", "symbol": ""}, "symbol"),
])
def test_contract_errors_name_the_field(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IbkrContractConfig(instrument_id="X.IBKR", **fields)  # type: ignore[arg-type]


def test_instrument_of_another_venue_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"must end in \.IBKR"):
        decode_venue('[[contracts]]\ninstrument_id = "AAPL.SIM"\nsec_type = "STK"\n'
                     'symbol = "AAPL"\n')


def test_unknown_field_and_bad_port_fail_decoding_naming_them() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.connection\.port"):
        decode_venue("[connection]\nport = 0\n")
    with pytest.raises(msgspec.ValidationError, match="clientid"):
        decode_venue("[connection]\nclientid = 3\n")


def test_feed_contract_must_be_the_feeds_instrument() -> None:
    contract = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")

    with pytest.raises(ValueError, match="contract.instrument_id"):
        IbkrFeedConfig(instrument_id="MSFT.IBKR", contract=contract)
    assert IbkrFeedConfig(instrument_id="AAPL.IBKR", contract=contract).connection.client_id == 2


def test_native_order_lists_default_to_oco_and_bracket_and_refuse_other_kinds() -> None:
    default = IbkrExecutionClient(decode_venue(""), sink=lambda event: None)
    off = IbkrExecutionClient(decode_venue("native_order_lists = []"), sink=lambda event: None)

    assert default.native_order_lists == {ContingencyType.OCO, ContingencyType.BRACKET}
    assert off.native_order_lists == frozenset()
    # OTO children at IB would be one OCA group of attached orders: the engine links OTO.
    with pytest.raises(msgspec.ValidationError, match=r"\$\.native_order_lists\[0\]"):
        decode_venue('native_order_lists = ["oto"]')
