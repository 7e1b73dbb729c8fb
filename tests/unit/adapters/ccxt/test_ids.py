"""Exchange client order ids derived from the engine's."""

from __future__ import annotations

from adapters.ccxt import exchange_client_id
from adapters.ccxt.ids import engine_client_id


def test_an_id_that_fits_is_used_as_it_is() -> None:
    assert exchange_client_id("O-20260101-0001") == "O-20260101-0001"


def test_a_long_or_odd_id_becomes_a_stable_digest_binance_accepts() -> None:
    long_id = "strategy-with-a-long-name-" + "x" * 40

    derived = exchange_client_id(long_id)

    assert derived == exchange_client_id(long_id) and derived.startswith("tb-")
    assert len(derived) <= 36 and exchange_client_id("a b") != "a b"


def test_legs_have_ids_of_their_own_within_36_characters() -> None:
    legs = {exchange_client_id("x" * 36, leg) for leg in range(4)}

    assert len(legs) == 4 and all(len(leg) <= 36 for leg in legs)


def test_engine_id_comes_back_from_a_leg_id_and_others_pass_through() -> None:
    assert engine_client_id(exchange_client_id("mwm0nk74-sma-h", 2)) == "mwm0nk74-sma-h"
    assert engine_client_id("web_pCCGp9AIHjziKLlpGpXI") == "web_pCCGp9AIHjziKLlpGpXI"
    assert engine_client_id(None) is None
