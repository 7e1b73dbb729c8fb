"""Client order ids: unique across sessions, within venue length limits, stable."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from engine.domain.ids import (
    MAX_CLIENT_ORDER_ID_LENGTH,
    ClientOrderIds,
    base36,
    session_order_prefix,
)


def test_backtest_ids_are_the_plain_strategy_and_count() -> None:
    ids = ClientOrderIds("sma-cross")
    assert [ids.make(n) for n in (1, 2, 10)] == ["sma-cross-1", "sma-cross-2", "sma-cross-10"]


def test_session_ids_carry_the_session_prefix_and_a_base36_count() -> None:
    prefix = session_order_prefix(1_795_000_000_000)
    ids = ClientOrderIds("sma", prefix)
    assert ids.make(35) == f"{prefix}sma-z"
    assert int(prefix[:-1], 36) == 1_795_000_000_000


def test_characters_venues_refuse_are_replaced() -> None:
    assert ClientOrderIds("my strat.v2/x").make(1) == "my_strat_v2_x-1"


def test_long_strategy_ids_become_a_stable_checksum_within_the_limit() -> None:
    prefix = session_order_prefix(1_795_000_000_000)
    long_id = "a-very-long-strategy-name-that-no-venue-accepts"
    first = ClientOrderIds(long_id, prefix).make(123_456_789)
    again = ClientOrderIds(long_id, prefix).make(123_456_789)
    assert first == again and len(first) <= MAX_CLIENT_ORDER_ID_LENGTH
    assert ClientOrderIds(long_id + "2", prefix).make(1) != ClientOrderIds(long_id, prefix).make(1)


@given(
    epochs=st.lists(st.integers(min_value=1_600_000_000_000, max_value=4_000_000_000_000),
                    min_size=2, max_size=5, unique=True),
    strategy=st.text(min_size=1, max_size=60),
    counts=st.integers(min_value=1, max_value=50),
)
def test_no_id_repeats_across_sessions_even_when_counts_restart(
    epochs: list[int], strategy: str, counts: int
) -> None:
    # A fresh or truncated journal restarts the count at 1: the session prefix still
    # keeps every id new, and every id fits the strictest venue limit.
    seen: set[str] = set()
    for epoch in epochs:
        ids = ClientOrderIds(strategy, session_order_prefix(epoch))
        for n in range(1, counts + 1):
            made = ids.make(n)
            assert made not in seen and len(made) <= MAX_CLIENT_ORDER_ID_LENGTH
            seen.add(made)


def test_base36_refuses_negative_numbers() -> None:
    assert base36(0) == "0" and base36(36) == "10"
    with pytest.raises(ValueError, match="must be >= 0"):
        base36(-1)
