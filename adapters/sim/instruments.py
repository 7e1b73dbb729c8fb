"""The simulated venue's instrument provider: the instruments its config defines.

A live venue's provider loads increments, minimums, fees and contract sizes from the
exchange; the simulated venue has no exchange to ask, so its provider answers from the
instruments it was given (a backtest's or paper config's `[[instruments]]`), through the
same `InstrumentProvider` port, so the composition root treats every venue alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.events.market import Instrument

__all__ = ("SimInstrumentProvider",)


class SimInstrumentProvider:
    """Answer `load` from a fixed set of instruments of one venue."""

    def __init__(self, venue: str, instruments: Iterable[Instrument]) -> None:
        self._venue = venue
        self._instruments = {i.instrument_id: i for i in instruments if i.venue == venue}

    async def load(self, instrument_ids: list[str] | None = None) -> list[Instrument]:
        """The venue's instruments in id order (only `instrument_ids`, when given).

        Raises:
            KeyError: an asked-for id the venue does not list (named in the message).
        """
        if instrument_ids is None:
            return [self._instruments[key] for key in sorted(self._instruments)]
        missing = [i for i in instrument_ids if i not in self._instruments]
        if missing:
            raise KeyError(f"venue {self._venue} lists no instrument {', '.join(missing)}")
        return [self._instruments[i] for i in instrument_ids]
