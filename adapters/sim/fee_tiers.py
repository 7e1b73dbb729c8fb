"""Volume fee tiers: the commission rate falls as the account trades more, as on exchanges.

Exchanges price a fill by the account's traded volume over a rolling window (Binance:
30 days): the more it traded, the lower its maker and taker rates. Without tiers the
simulated venue charges each instrument's own `maker_fee` / `taker_fee`; with them
(`[venue] fee_tiers`), the tier table replaces those rates for every instrument.

The volume is the notional (quantity x price) of the venue's own fills in the
charged instrument's quote currency, over the `fee_window_days` before the fill, in
engine time, so a backtest and its recovery count the same. A fill is priced by the
volume before it: its own notional counts from the next fill on. Volumes in different
quote currencies are not added together (no conversion rate is the venue's to choose).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from adapters.sim.fees import EXACT, notional
from engine.domain.enums import LiquiditySide
from engine.domain.triggers import DAY_NS
from engine.events.market import Instrument

__all__ = ("FeeTier", "FeeTiers", "FeeTiersState", "check_fee_tiers")


class FeeTier(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rates from `volume` on (traded notional in the window, quote currency)."""

    volume: Decimal
    maker: Decimal
    """A fraction of notional; negative is a rebate."""
    taker: Decimal


class FeeTiersState(msgspec.Struct, frozen=True, kw_only=True):
    """The fills still in the window: (quote currency, engine time, notional), in order."""

    fills: list[tuple[str, int, Decimal]]


def check_fee_tiers(tiers: Sequence[FeeTier]) -> None:
    """Raise ValueError naming what is wrong with a tier table (for config decoding)."""
    if not tiers:
        return
    if tiers[0].volume != 0:
        raise ValueError(f"fee_tiers: the first tier must start at volume 0, not "
                         f"{tiers[0].volume}")
    for index, tier in enumerate(tiers):
        for name in ("volume", "maker", "taker"):
            value = getattr(tier, name)
            if not value.is_finite():
                raise ValueError(f"fee_tiers[{index}].{name} {value}: must be finite")
        if not -1 < tier.maker < 1 or not -1 < tier.taker < 1:
            raise ValueError(f"fee_tiers[{index}]: rates are fractions of notional, "
                             f"between -1 and 1 (maker {tier.maker}, taker {tier.taker})")
        if index and tier.volume <= tiers[index - 1].volume:
            raise ValueError(f"fee_tiers[{index}].volume {tier.volume}: must be above the "
                             f"tier before ({tiers[index - 1].volume})")


class FeeTiers:
    """Price fills by tier, and keep the window of volume that chooses the tier."""

    def __init__(self, tiers: Sequence[FeeTier], window_days: float) -> None:
        check_fee_tiers(tiers)
        if not tiers:
            raise ValueError("fee_tiers: a tier table needs at least one tier")
        if not window_days > 0:
            raise ValueError(f"fee_window_days {window_days}: must be > 0")
        self._tiers = tuple(tiers)
        self._window_ns = round(window_days * DAY_NS)
        self._fills: deque[tuple[str, int, Decimal]] = deque()
        self._volume: dict[str, Decimal] = {}

    def volume(self, currency: str, moment: int) -> Decimal:
        """The traded notional in `currency` over the window ending at `moment`."""
        self._expire(moment)
        return self._volume.get(currency, Decimal(0))

    def tier(self, currency: str, moment: int) -> FeeTier:
        """The tier a fill in `currency` at `moment` is priced by."""
        volume = self.volume(currency, moment)
        chosen = self._tiers[0]
        for tier in self._tiers[1:]:
            if tier.volume > volume:
                break
            chosen = tier
        return chosen

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal,
                   liquidity_side: LiquiditySide, moment: int) -> Decimal:
        """The fee of this fill (quote currency), which then joins the window's volume."""
        currency = instrument.quote_currency
        tier = self.tier(currency, moment)
        rate = tier.maker if liquidity_side is LiquiditySide.MAKER else tier.taker
        amount = notional(quantity, price)
        self._fills.append((currency, moment, amount))
        self._volume[currency] = EXACT.add(self._volume.get(currency, Decimal(0)), amount)
        return EXACT.multiply(rate, amount)

    def _expire(self, moment: int) -> None:
        fills = self._fills
        start = moment - self._window_ns
        while fills and fills[0][1] <= start:
            currency, _, amount = fills.popleft()
            left = EXACT.subtract(self._volume[currency], amount)
            if left:
                self._volume[currency] = left
            else:  # notionals are positive: none of this currency is left in the window
                del self._volume[currency]

    def state(self) -> FeeTiersState:
        return FeeTiersState(fills=list(self._fills))

    def restore(self, state: FeeTiersState) -> None:
        self._fills = deque(state.fills)
        self._volume = {}
        for currency, _, amount in self._fills:
            self._volume[currency] = EXACT.add(self._volume.get(currency, Decimal(0)), amount)
