"""The only place topic and endpoint strings are built, and where wildcards are matched.

Topics are dotted, lower-case, general to specific::

    data.bars.<venue>.<symbol>.<timeframe>    data.trades.<venue>.<symbol>
    data.quotes.<venue>.<symbol>              data.instruments.<venue>.<symbol>
    data.book.<venue>.<symbol>                data.funding.<venue>.<symbol>
    events.order.<strategy>    events.position.<strategy>    events.account.<account>
    events.order_list.<strategy>    events.algo.<strategy>
    system.<subject>

In a subscription pattern `*` matches exactly one segment and a final `#` matches any
number of trailing segments, including none. Endpoints (point-to-point) are
`<actor>.<verb>`.

The builders are cached: actors call them per message (an order event's topic), and a
cached string costs a dict lookup instead of the segment clean-up.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from engine.domain.ids import split_instrument_id

__all__ = (
    "ALL_ACCOUNT_EVENTS",
    "ALL_DATA",
    "ALL_EVENTS",
    "ALL_ORDER_EVENTS",
    "ALL_POSITION_EVENTS",
    "ALGOS_EXECUTE",
    "ALGOS_PROCESS",
    "ALL_SYSTEM",
    "CONTINGENCY_EXECUTE",
    "CONTINGENCY_PROCESS",
    "DATA_SUBSCRIBE",
    "EMULATOR_EXECUTE",
    "ORDERS_EXECUTE",
    "ORDERS_PROCESS",
    "PORTFOLIO_PROCESS",
    "RISK_EXECUTE",
    "STRATEGIES_CONTROL",
    "data_endpoint",
    "funding_topic",
    "account_topic",
    "algo_topic",
    "all_bars_pattern",
    "bars_topic",
    "book_topic",
    "instrument_topic",
    "matches",
    "order_list_topic",
    "order_topic",
    "position_topic",
    "quotes_topic",
    "segment",
    "system_topic",
    "trades_topic",
    "venue_endpoint",
)

RISK_EXECUTE: Final = "risk.execute"
"""Order commands from strategies (and the kill switch) enter the graph here."""
ORDERS_EXECUTE: Final = "orders.execute"
"""Commands risk let through, for the order manager to route to a venue."""
ORDERS_PROCESS: Final = "orders.process"
"""Order events from venues and risk, for the order manager to apply and publish."""
PORTFOLIO_PROCESS: Final = "portfolio.process"
"""Account states from venues (balances and margin), for the portfolio to apply."""
CONTINGENCY_EXECUTE: Final = "contingency.execute"
"""Order list commands from strategies (OCO, OTO, brackets), for the contingency actor."""
CONTINGENCY_PROCESS: Final = "contingency.process"
"""Events of orders that belong to an order list, sent on by the order manager."""
ALGOS_EXECUTE: Final = "algos.execute"
"""Execution algorithm commands from strategies (TWAP, VWAP), for the algorithm actor."""
ALGOS_PROCESS: Final = "algos.process"
"""Events of execution algorithms' child orders, sent on by the order manager."""
EMULATOR_EXECUTE: Final = "emulator.execute"
"""Orders of a type the venue does not place, and their cancels and modifies, from the
order manager to the order emulator, which holds them until their trigger."""
STRATEGIES_CONTROL: Final = "strategies.control"
"""Operator commands that start or stop one strategy, for the graph to carry out."""
DATA_SUBSCRIBE: Final = "data.subscribe"
"""Market data subscription commands for the market data actor."""

ALL_ORDER_EVENTS: Final = "events.order.#"
ALL_POSITION_EVENTS: Final = "events.position.#"
ALL_ACCOUNT_EVENTS: Final = "events.account.#"
ALL_EVENTS: Final = "events.#"
ALL_DATA: Final = "data.#"
ALL_SYSTEM: Final = "system.#"


@lru_cache(maxsize=4096)
def segment(value: str) -> str:
    """Make `value` one safe topic segment: lower-case, no dots, no wildcard characters."""
    cleaned = value.lower().replace(".", "_").replace("*", "_").replace("#", "_")
    if not cleaned:
        raise ValueError(f"topic segment {value!r}: must not be empty")
    return cleaned


@lru_cache(maxsize=4096)
def _instrument_segments(instrument_id: str) -> str:
    symbol, venue = split_instrument_id(instrument_id)
    return f"{segment(venue)}.{segment(symbol)}"


@lru_cache(maxsize=4096)
def bars_topic(instrument_id: str, timeframe: str) -> str:
    return f"data.bars.{_instrument_segments(instrument_id)}.{segment(timeframe)}"


def all_bars_pattern(instrument_id: str) -> str:
    """The subscription pattern for bars of `instrument_id` of every timeframe."""
    return f"data.bars.{_instrument_segments(instrument_id)}.*"


@lru_cache(maxsize=4096)
def trades_topic(instrument_id: str) -> str:
    return f"data.trades.{_instrument_segments(instrument_id)}"


@lru_cache(maxsize=4096)
def quotes_topic(instrument_id: str) -> str:
    return f"data.quotes.{_instrument_segments(instrument_id)}"


@lru_cache(maxsize=4096)
def funding_topic(instrument_id: str) -> str:
    """The topic a perpetual's funding rates (`FundingRate`) are published on."""
    return f"data.funding.{_instrument_segments(instrument_id)}"


@lru_cache(maxsize=4096)
def book_topic(instrument_id: str) -> str:
    """The topic order book deltas of `instrument_id` are published on."""
    return f"data.book.{_instrument_segments(instrument_id)}"


@lru_cache(maxsize=4096)
def instrument_topic(instrument_id: str) -> str:
    return f"data.instruments.{_instrument_segments(instrument_id)}"


@lru_cache(maxsize=4096)
def order_topic(strategy_id: str) -> str:
    return f"events.order.{segment(strategy_id)}"


@lru_cache(maxsize=4096)
def order_list_topic(strategy_id: str) -> str:
    """Where the contingency actor tells a strategy what became of its order lists."""
    return f"events.order_list.{segment(strategy_id)}"


@lru_cache(maxsize=4096)
def algo_topic(strategy_id: str) -> str:
    """Where the execution algorithm actor tells a strategy how its parent orders go."""
    return f"events.algo.{segment(strategy_id)}"


@lru_cache(maxsize=4096)
def position_topic(strategy_id: str) -> str:
    return f"events.position.{segment(strategy_id)}"


@lru_cache(maxsize=4096)
def account_topic(account_id: str) -> str:
    return f"events.account.{segment(account_id)}"


@lru_cache(maxsize=4096)
def system_topic(subject: str) -> str:
    return f"system.{segment(subject)}"


@lru_cache(maxsize=4096)
def venue_endpoint(venue: str) -> str:
    """The endpoint a venue adapter registers to receive order commands."""
    return f"venue.{segment(venue)}.execute"


@lru_cache(maxsize=4096)
def data_endpoint(venue: str) -> str:
    """The endpoint a venue's market data client registers to take subscriptions."""
    return f"venue.{segment(venue)}.data"


def matches(pattern: str, topic: str) -> bool:
    """True when `topic` matches the subscription `pattern` (`*` one segment, `#` the tail)."""
    pattern_parts = pattern.split(".")
    if "#" in pattern_parts[:-1]:  # checked first, so any probe validates the pattern
        raise ValueError(f"topic pattern {pattern!r}: '#' is only allowed at the end")
    if pattern == topic:
        return True
    topic_parts = topic.split(".")
    for index, part in enumerate(pattern_parts):
        if part == "#":
            return True
        if index >= len(topic_parts):
            return False
        if part != "*" and part != topic_parts[index]:
            return False
    return len(pattern_parts) == len(topic_parts)
