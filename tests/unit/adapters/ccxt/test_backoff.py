"""Backoff: exponential, capped, jittered from a seed."""

from __future__ import annotations

from adapters.ccxt import Backoff


def test_delays_grow_to_the_cap_with_jitter_and_reset() -> None:
    backoff = Backoff(0.1, 1.0, seed=3)

    delays = [backoff.next_delay() for _ in range(6)]
    backoff.reset()

    assert all(0.05 <= d < 0.1 for d in delays[:1]) and all(0.5 <= d < 1.0 for d in delays[4:])
    assert delays[1] >= 0.1 * 2 * 0.5
    assert 0.05 <= backoff.next_delay() < 0.1


def test_the_same_seed_gives_the_same_delays() -> None:
    first, second = Backoff(0.1, 5.0, seed=9), Backoff(0.1, 5.0, seed=9)

    assert [first.next_delay() for _ in range(5)] == [second.next_delay() for _ in range(5)]


def test_a_long_outage_stays_at_the_cap() -> None:
    backoff = Backoff(0.5, 30.0)

    delays = [backoff.next_delay() for _ in range(5_000)]

    assert 15.0 <= delays[-1] < 30.0
