"""Seeded fill models of the simulated venue: slippage, and fills when a bar only touches.

A bar is a summary: it says a price traded, not that an order there would have been
filled, nor at what price a market order would really have gone. Two models, both off
by default, make bar fills less generous:

- **Slippage** (`[venue] slippage_ticks = k`): a taker fill on a bar (a market order at
  the open, a stop at its trigger) is moved k price increments against the taker (a
  buy up, a sell down) with probability `slippage_probability`, never beyond the bar's
  high or low: a fill stays at a price the bar traded.
- **Touch fills** (`[venue] touch_fill_probability = p`): a resting limit order on a
  bar that only touches its price (a buy's limit equal to the low, a sell's to the
  high) fills with probability p; a bar that goes through the price fills it always.

Only bars: a trade tick's price is the price that traded, a quote's the price offered,
and an L2 book's levels are walked, with its own resting-fill rule
(`adapters.sim.book_matching`); moving those would invent prices nobody offered.

The draws are counter-based, not a stream: the k-th draw of the venue depends on
`(slippage_seed, k)` alone (SplitMix64), and the venue's draw counter is in its
snapshot, so a backtest, its rerun and a recovery that resumes mid-session all draw
the same.
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain.enums import OrderSide

__all__ = ("Slippage", "draw", "touch_fills")

_MASK = (1 << 64) - 1


def draw(seed: int, number: int) -> float:
    """A uniform float in [0, 1) determined by `seed` and `number` alone (SplitMix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + (number + 1) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


class Slippage:
    """Move a bar's taker fill price `ticks` increments against the taker, sometimes."""

    def __init__(self, ticks: int, probability: float, seed: int) -> None:
        if ticks < 0:
            raise ValueError(f"slippage_ticks {ticks}: must be >= 0")
        if not 0 <= probability <= 1:
            raise ValueError(f"slippage_probability {probability}: must be between 0 and 1")
        self.ticks = ticks
        self.probability = probability
        self.seed = seed

    def price(self, price: Decimal, side: OrderSide, *, increment: Decimal, high: Decimal,
              low: Decimal, number: int) -> Decimal:
        """The price a taker fill pays on the venue's draw `number`: `price`, or worse
        within [low, high]."""
        if not self.ticks or draw(self.seed, number) >= self.probability:
            return price
        shift = increment * self.ticks
        if side is OrderSide.BUY:
            return max(min(price + shift, high), price)
        return min(max(price - shift, low), price)


def touch_fills(probability: float, seed: int, number: int) -> bool:
    """Whether a limit order a bar only touched fills, on the venue's draw `number`."""
    return draw(seed, number) < probability
