"""Read a perpetual's funding rates from CSV: header `ts,rate` or `ts,rate,mark_price`.

`ts` is the funding time in epoch milliseconds (the item's `ts_event` and `ts_init`),
`rate` the fraction of notional a long pays per funding (0.0001 is 0.01 %; negative:
shorts pay), `mark_price` the price the payment is reckoned at (empty or absent: the
venue's last price). Funding files are small (three rows a day), so they are read
whole and every row is checked: the first bad one raises `DataError(source, line,
reason)`, line 1 being the header.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

from adapters.data.csv_bars import MIN_EPOCH_MS
from engine.errors import DataError
from engine.events.market import FundingRate

__all__ = ("FUNDING_HEADERS", "load_funding_csv")

FUNDING_HEADERS: Final = ("ts,rate", "ts,rate,mark_price")
_NS_PER_MS: Final = 1_000_000


def load_funding_csv(path: Path, instrument_id: str) -> list[FundingRate]:
    """Every funding rate of the file, in time order, for `instrument_id`."""
    source = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(source, 1, f"cannot read: {error}") from error
    if not lines or lines[0].strip() not in FUNDING_HEADERS:
        raise DataError(source, 1, f"header {lines[0] if lines else ''!r}: expected one of "
                                   f"{', '.join(repr(h) for h in FUNDING_HEADERS)}")
    columns = lines[0].strip().count(",") + 1
    rates: list[FundingRate] = []
    previous: int | None = None
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != columns:
            raise DataError(source, number, f"{len(fields)} fields, the header has {columns}")
        try:
            ts_ms = int(fields[0])
            rate = float(fields[1])
            mark = float(fields[2]) if columns == 3 and fields[2].strip() else None
        except ValueError as error:
            raise DataError(source, number, f"not a number: {error}") from error
        if ts_ms < MIN_EPOCH_MS:
            raise DataError(source, number, f"ts {ts_ms}: not epoch milliseconds")
        if previous is not None and ts_ms <= previous:
            raise DataError(source, number, f"ts {ts_ms}: not after the row before ({previous})")
        if not math.isfinite(rate) or (mark is not None and not (math.isfinite(mark)
                                                                 and mark > 0)):
            raise DataError(source, number, "rate must be finite and mark_price finite and > 0")
        previous = ts_ms
        ts_ns = ts_ms * _NS_PER_MS
        rates.append(FundingRate(instrument_id=instrument_id, rate=rate, mark_price=mark,
                                 ts_event=ts_ns, ts_init=ts_ns))
    return rates
