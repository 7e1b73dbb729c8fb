"""Exponential backoff with jitter from a seeded source, so reconnect timing is repeatable."""

from __future__ import annotations

import random

__all__ = ("Backoff",)


class Backoff:
    """Delays initial, 2x, 4x ... up to `maximum`, each scaled by a jitter in [0.5, 1.0).

    The jitter spreads reconnects of many clients apart; it comes from
    `random.Random(seed)` so a test (or a rerun) sees the same delays.
    """

    def __init__(self, initial: float, maximum: float, *, seed: int = 0) -> None:
        self._initial = initial
        self._maximum = maximum
        self._random = random.Random(seed)
        self._attempt = 0

    def __repr__(self) -> str:
        return f"Backoff(initial={self._initial}, maximum={self._maximum}, attempt={self._attempt})"

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        # the exponent stops growing once the cap is reached: a long outage (thousands of
        # attempts) must not overflow a float
        base = min(self._maximum, self._initial * 2.0 ** min(self._attempt, 60))
        self._attempt += 1
        return base * (0.5 + self._random.random() / 2)

    def reset(self) -> None:
        """A success: the next failure starts from `initial` again."""
        self._attempt = 0
