"""What the simulated venue is configured with: matching, fees, fill models, latency.

The `[venue]` table of a backtest file, and (tagged, `api.compose.sim.SimVenueEntry`) a
`[[venues]] kind = "sim"` entry of a daemon file. Every value is checked when the file
is decoded, so a bad one fails naming the field.
"""

from __future__ import annotations

import math

import msgspec

from adapters.sim.book_matching import RestingFills
from adapters.sim.fee_tiers import FeeTier, check_fee_tiers
from adapters.sim.fill_models import Slippage
from adapters.sim.margin import MarginConfig
from engine.domain.enums import OrderType
from engine.events.market import timeframe_ns

__all__ = ("SimVenueConfig",)


class SimVenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the simulated venue fills.

    Attributes:
        venue: the venue name; instruments it trades have ids ending in `.<venue>`.
        max_volume_fraction: cap each fill at this fraction (0 < f <= 1) of the item's
            volume (of each book level's size, against a book), giving partial fills;
            None fills any size at once.
        bar_timeframe: match only bars of this timeframe ("1m"); None matches every bar.
            Set it when several timeframes of one instrument reach the venue, so the same
            stretch of time is not matched twice.
        resting_fills: how resting limit orders fill against an instrument with an L2
            book: "trade_through" (only when the market goes through their price) or
            "queue" (also at their price, behind an estimated queue); see
            `adapters.sim.book_matching`.
        cash_account: keep the account's balances (from the portfolio's starting
            balances) and refuse an order the free balance cannot cover, as a spot
            exchange does (`adapters.sim.account`); off, the venue checks no balance.
        fee_tiers: maker and taker rates by the traded volume over the last
            `fee_window_days` (`adapters.sim.fee_tiers`), in place of each instrument's
            own fees; empty (the default): the instruments' fees.
        fee_window_days: the window of volume that chooses the tier.
        slippage_ticks: move a taker fill on a bar this many price increments against
            the taker, within the bar's range (`adapters.sim.fill_models`); 0: none.
        slippage_probability: the chance that a taker fill on a bar slips.
        touch_fill_probability: the chance a resting limit order fills on a bar that
            only touches its price (1: always, the default).
        slippage_seed: the seed of both models' draws (the same seed, the same fills).
        command_latency_ns: how long after it was sent a submit, cancel or modify reaches
            the venue, in simulated time (`adapters.sim.latency`); 0: at once.
        event_latency_ns: how long after the venue made it an acceptance, fill or other
            answer reaches the engine; 0: at once.
        order_types: the order types this venue places; None (the default): every
            type. It rejects orders of the others, and the engine's order emulator
            holds those with a trigger until they trigger, then sends a market or limit
            order (`engine.actors.emulator`): so a backtest can play a venue that places
            only market and limit orders, as a crypto exchange through ccxt.
        margin: trade perpetuals on a margin account with this leverage and maintenance
            margin (`adapters.sim.margin`): initial margin checked on submit, liquidation
            below maintenance; None (the default): no margin account (perpetuals then
            still pay funding, with no margin check).
    """

    venue: str = "SIM"
    max_volume_fraction: float | None = None
    bar_timeframe: str | None = None
    resting_fills: RestingFills = "trade_through"
    cash_account: bool = False
    fee_tiers: list[FeeTier] = []
    fee_window_days: float = 30.0
    slippage_ticks: int = 0
    slippage_probability: float = 1.0
    touch_fill_probability: float = 1.0
    slippage_seed: int = 0
    command_latency_ns: int = 0
    event_latency_ns: int = 0
    order_types: list[OrderType] | None = None
    margin: MarginConfig | None = None

    def __post_init__(self) -> None:
        # Checked when the config is decoded, so a bad file fails naming the field.
        if not self.venue or "." in self.venue:
            raise ValueError(f"venue {self.venue!r}: must be non-empty and contain no dot")
        fraction = self.max_volume_fraction
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError(f"max_volume_fraction {fraction}: must be > 0 and <= 1")
        if self.bar_timeframe is not None:
            timeframe_ns(self.bar_timeframe)  # raises ValueError naming a bad timeframe
        check_fee_tiers(self.fee_tiers)
        if not (math.isfinite(self.fee_window_days) and self.fee_window_days > 0):
            raise ValueError(f"fee_window_days {self.fee_window_days}: must be > 0")
        Slippage(self.slippage_ticks, self.slippage_probability, self.slippage_seed)
        if not 0 <= self.touch_fill_probability <= 1:
            raise ValueError(f"touch_fill_probability {self.touch_fill_probability}: must be "
                             "between 0 and 1")
        for name in ("command_latency_ns", "event_latency_ns"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} {getattr(self, name)}: must be >= 0")
        if self.margin is not None and self.cash_account:
            raise ValueError("margin: a venue's account is a cash account or a margin "
                             "account, not both (cash_account is true)")
        if self.order_types is not None and OrderType.MARKET not in self.order_types:
            raise ValueError(f"order_types {sorted(map(str, self.order_types))}: must include "
                             "market (every venue places market orders; the emulator "
                             "releases them)")
