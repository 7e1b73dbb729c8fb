"""What an IBKR venue or feed is configured with: the gateway, the client, the contracts.

One `[[venues]] kind = "ibkr"` entry (`IbkrVenueConfig`) is one connection to TWS or IB
Gateway trading one account; one `[[feeds]] kind = "ibkr"` entry (`IbkrFeedConfig`) is the
market data of one instrument over a connection of its own (its own client id: IB
refuses two connections with one client id). Both name their instruments through
`IbkrContractConfig`, the one mapping from an engine instrument id to an IB contract:

- stocks (`sec_type = "STK"`) route through SMART unless `exchange` says otherwise;
  `primary_exchange` disambiguates a symbol listed on several exchanges;
- FX pairs (`"CASH"`): `symbol` is the base currency, `currency` the quote, on IDEALPRO;
- futures (`"FUT"`) need `exchange` and `expiry` (YYYYMM or YYYYMMDD): a future is its
  contract month, never "the front month" (which would change under a running strategy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import msgspec

__all__ = (
    "BackoffConfig",
    "IbkrConnectionConfig",
    "IbkrContractConfig",
    "IbkrFeedConfig",
    "IbkrVenueConfig",
)

SecType = Literal["STK", "CASH", "FUT"]
_DEFAULT_EXCHANGE: dict[str, str] = {"STK": "SMART", "CASH": "IDEALPRO"}


class IbkrContractConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One engine instrument id and the IB contract it trades (see the module docstring)."""

    instrument_id: str
    sec_type: SecType
    symbol: str
    currency: str = "USD"
    exchange: str = ""
    primary_exchange: str = ""
    expiry: str = ""

    def __post_init__(self) -> None:
        if "." not in self.instrument_id:
            raise ValueError(f"instrument_id {self.instrument_id!r}: must end in .<venue>")
        if not self.symbol:
            raise ValueError("symbol: must not be empty")
        if self.sec_type == "FUT":
            if not self.exchange:
                raise ValueError(f"exchange: required for the future {self.instrument_id}")
            if not (self.expiry.isdigit() and len(self.expiry) in (6, 8)):
                raise ValueError(f"expiry {self.expiry!r}: a future needs YYYYMM or YYYYMMDD")
        elif self.expiry:
            raise ValueError(f"expiry {self.expiry!r}: only futures have one")

    @property
    def routed_exchange(self) -> str:
        """Where orders and data requests go: `exchange`, else SMART or IDEALPRO."""
        return self.exchange or _DEFAULT_EXCHANGE.get(self.sec_type, "")


class BackoffConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Reconnect delays: initial_s × factor^attempt, at most maximum_s, ± jitter × delay.

    The jitter comes from a generator seeded with `seed`, so a run's delays repeat.
    """

    initial_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    maximum_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    factor: Annotated[float, msgspec.Meta(ge=1)] = 2.0
    jitter: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.1
    seed: int = 0


class IbkrConnectionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The gateway and this connection's client id (unique per gateway)."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(gt=0, lt=65536)] = 4002
    client_id: Annotated[int, msgspec.Meta(ge=0)] = 1
    account: str = ""
    connect_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 4.0
    backoff: BackoffConfig = BackoffConfig()


class IbkrVenueConfig(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
    tag_field="kind", tag="ibkr",
):
    """A `[[venues]] kind = "ibkr"` entry: order entry and account queries for one account.

    `account` empty: the one account managedAccounts names (several: configure one).
    """

    journal_identity_fields: ClassVar[tuple[str, ...]] = (
        "venue", "connection.account", "contracts")
    """What makes a journal this venue's: the account and the contracts traded. Host,
    port, client id, timeouts and backoff are an operator's to change between sessions."""

    venue: str = "IBKR"
    connection: IbkrConnectionConfig = IbkrConnectionConfig()
    contracts: list[IbkrContractConfig] = []
    native_order_lists: list[Literal["oco", "bracket"]] = msgspec.field(
        default_factory=lambda: ["oco", "bracket"])
    """Order lists the gateway links itself: an OCO as an OCA group, a bracket as its
    entry with both exits attached in one OCA group (held at IB until the entry filled,
    so they protect the position while the engine is down). Empty: the engine links them
    as it does at every venue (docs/contingent-orders.md)."""

    def __post_init__(self) -> None:
        if not self.venue or "." in self.venue:
            raise ValueError(f"venue {self.venue!r}: must be non-empty and contain no dot")
        _check_contracts(self.venue, self.contracts)


class IbkrFeedConfig(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
    tag_field="kind", tag="ibkr",
):
    """A `[[feeds]] kind = "ibkr"` entry: quotes, trades or 5-second bars of one instrument.

    `data` picks what flows ("bars" are IB's real-time 5-second bars; empty: quotes and
    trades); `warmup_bars` historical bars are delivered first when bars are asked for.
    """

    instrument_id: str
    contract: IbkrContractConfig
    venue: str = "IBKR"
    data: list[Literal["quotes", "trades", "bars"]] = []
    warmup_bars: Annotated[int, msgspec.Meta(ge=0)] = 0
    connection: IbkrConnectionConfig = IbkrConnectionConfig(client_id=2)

    def __post_init__(self) -> None:
        if self.contract.instrument_id != self.instrument_id:
            raise ValueError(f"contract.instrument_id {self.contract.instrument_id!r}: must be "
                             f"the feed's instrument_id {self.instrument_id!r}")
        _check_contracts(self.venue, (self.contract,))

    @property
    def streams(self) -> tuple[Literal["quotes", "trades", "bars"], ...]:
        """What flows, in the order given (`data`; empty: quotes and trades)."""
        return tuple(self.data) if self.data else ("quotes", "trades")


def _check_contracts(venue: str, contracts: Sequence[IbkrContractConfig]) -> None:
    seen: set[str] = set()
    for contract in contracts:
        if not contract.instrument_id.endswith(f".{venue}"):
            raise ValueError(f"instrument_id {contract.instrument_id!r}: must end in .{venue}")
        if contract.instrument_id in seen:
            raise ValueError(f"instrument_id {contract.instrument_id!r}: mapped twice")
        seen.add(contract.instrument_id)
