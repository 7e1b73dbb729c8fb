"""IbkrInstrumentProvider: the configured instruments, as the gateway's contract details say."""

from __future__ import annotations

from adapters.ibkr.connection import IbkrConnection
from adapters.ibkr.contracts import ContractMap, QualifiedContract
from engine.errors import VenueUnavailable
from engine.events.market import Instrument

__all__ = ("IbkrInstrumentProvider",)


class IbkrInstrumentProvider:
    """Load instruments (increments, minimum size, multiplier) over a client's connection.

    Args:
        contracts: the configured mapping (an execution or market data client's).
        connection: the connection it is qualified over; connected when `load` runs.
    """

    def __init__(self, contracts: ContractMap, connection: IbkrConnection) -> None:
        self._contracts = contracts
        self._connection = connection

    async def load(self, instrument_ids: list[str] | None = None) -> list[Instrument]:
        """Ask the gateway for the contracts' details; the instruments it knows, in order.

        Raises:
            VenueUnavailable: not connected.
            KeyError: an id not in the configured contracts.
        """
        if not self._connection.connected:
            raise VenueUnavailable(f"{self._contracts.venue}: not connected, "
                                   "contract details unavailable")
        qualified = await self._contracts.qualify(self._connection.ib, instrument_ids)
        return [contract.instrument for contract in qualified]

    def contract(self, instrument_id: str) -> QualifiedContract | None:
        """What the last `load` learned beyond the instrument: conId, time zone, trading
        and liquid hours (None before it, or if the gateway did not know the contract)."""
        return self._contracts.qualified(instrument_id)
