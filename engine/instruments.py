"""The instruments the graph knows: one registry, filled at start, read by every actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from engine.events.market import Instrument

__all__ = ("InstrumentRegistry",)


class InstrumentRegistry:
    """Instruments by id. Iteration is in id order, so it is deterministic."""

    get: Callable[[str], Instrument | None]
    """The instrument of an id, or None: the dict's own `get`, bound once (every order
    asks several times, and a method of ours would be a Python call each time)."""

    def __init__(self, instruments: list[Instrument] | None = None) -> None:
        self._by_id: dict[str, Instrument] = {}
        self.get = self._by_id.get
        self.version = 0
        """Counts `add`s: a reader that derives something from the instruments (the
        portfolio's conversion paths) derives it again when this moved."""
        for instrument in instruments or ():
            self.add(instrument)

    def add(self, instrument: Instrument) -> None:
        """Add or replace `instrument` (a venue may update its increments or fees)."""
        self._by_id[instrument.instrument_id] = instrument
        self.version += 1

    def require(self, instrument_id: str) -> Instrument:
        """Return the instrument or raise KeyError naming it."""
        instrument = self._by_id.get(instrument_id)
        if instrument is None:
            raise KeyError(f"instrument {instrument_id!r}: not known to this graph")
        return instrument

    def __contains__(self, instrument_id: object) -> bool:
        return instrument_id in self._by_id

    def __iter__(self) -> Iterator[Instrument]:
        return iter([self._by_id[key] for key in sorted(self._by_id)])

    def __len__(self) -> int:
        return len(self._by_id)
