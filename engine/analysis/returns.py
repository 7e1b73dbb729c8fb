"""Per-period returns, drawdowns, annualization and return-distribution statistics.

These are the building blocks :func:`engine.analysis.report.compute_report` combines. They
are plain functions over float sequences, written with :mod:`math` and :mod:`statistics`
only, so the engine core never needs numpy at run time; the tests check them against
independent numpy computations.

Conventions shared by every function here:

* An equity curve is a sequence of equity values in quote currency, sampled in time order.
* Returns are *simple* per-period returns, ``r[i] = equity[i + 1] / equity[i] - 1``.
* Drawdowns are positive fractions of the running peak (0.2 means 20 % below the peak).
* Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, the
  default of ``numpy.quantile``): with the ``n`` values sorted ascending as ``x[0..n-1]``,
  ``quantile(p) = x[k] + (h - k) * (x[k + 1] - x[k])`` where ``h = (n - 1) * p`` and
  ``k = floor(h)``.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence

import msgspec

NANOSECONDS_PER_DAY = 86_400 * 1_000_000_000
"""Nanoseconds in one day of 86,400 SI seconds."""

NANOSECONDS_PER_YEAR = 365.25 * 86_400e9
"""Nanoseconds in a Julian year (365.25 days): the calendar a 24/7 market trades on."""

ROUNDING_NOISE = 64 * sys.float_info.epsilon
"""A dispersion of per-period returns at or below this (about 1.4e-14) is treated as zero.

``equity[i + 1] / equity[i] - 1`` carries an absolute rounding error of about one machine
epsilon, so a curve growing at a perfectly constant rate yields returns whose standard
deviation is ~1e-17 instead of 0. Dividing by that would report a Sharpe ratio of ~1e15;
treating it as zero reports the ratio as undefined instead.
"""


class DrawdownDuration(msgspec.Struct, frozen=True, kw_only=True):
    """The longest drawdown episode of an equity curve, measured in time.

    An episode starts at a sample ``peak_index`` whose equity is the running maximum and
    that the next sample falls below. It ends at ``end_index``: the first later sample whose
    equity is at least the peak again (``recovered`` is True), or the last sample of the curve
    if that never happens (``recovered`` is False). ``duration_ns`` is
    ``timestamps[end_index] - timestamps[peak_index]`` and ``duration_samples`` is the number
    of sampling intervals ``end_index - peak_index``. Of several episodes, the one with the
    largest ``duration_ns`` is reported (the earliest on a tie). A curve that never falls
    below its running peak reports zeros and ``None`` indices.
    """

    duration_ns: int
    duration_samples: int
    peak_index: int | None
    end_index: int | None
    recovered: bool


def check_finite(values: Sequence[float], what: str) -> None:
    """Raise ValueError naming the first NaN or infinite value: every statistic would be NaN."""
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise ValueError(f"{what}[{index}] {value!r}: must be a finite number")


def check_timestamps(timestamps_ns: Sequence[int]) -> None:
    """Raise ValueError unless the timestamps are integers strictly increasing in time.

    Durations and the sampling interval are differences of consecutive timestamps, so a
    repeated or out-of-order timestamp would produce a zero or negative interval.
    """
    for index, ts in enumerate(timestamps_ns):
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise ValueError(f"timestamp[{index}] {ts!r}: must be integer nanoseconds")
        if index and ts <= timestamps_ns[index - 1]:
            raise ValueError(
                f"timestamp[{index}] {ts}: must be later than the previous sample "
                f"{timestamps_ns[index - 1]}"
            )


def simple_returns(equity: Sequence[float]) -> list[float]:
    """Per-period simple returns ``r[i] = equity[i + 1] / equity[i] - 1`` (``n - 1`` values).

    Simple (not logarithmic) returns, because value at risk and best/worst period are read
    as "the account changed by this fraction". A return is undefined when the equity it is
    measured from is zero or negative (the account is already ruined), so that raises
    ValueError, as does a non-finite value. Fewer than two samples give no returns.
    """
    check_finite(equity, "equity")
    returns: list[float] = []
    for index in range(1, len(equity)):
        base = equity[index - 1]
        if base <= 0.0:
            raise ValueError(
                f"equity[{index - 1}] {base!r}: a return needs positive equity to measure from"
            )
        returns.append(equity[index] / base - 1.0)
    return returns


def drawdown_series(equity: Sequence[float]) -> list[float]:
    """Drawdown at each sample, ``(peak[i] - equity[i]) / peak[i]`` with running peak
    ``peak[i] = max(equity[: i + 1])``.

    Zero at a new high, positive below it, and within [0, 1) while equity stays positive.
    The first sample must be positive, otherwise the running peak can be zero or negative
    and "a fraction of the peak" means nothing (ValueError).
    """
    check_finite(equity, "equity")
    if not equity:
        return []
    if equity[0] <= 0.0:
        raise ValueError(f"equity[0] {equity[0]!r}: drawdowns need a positive first value")
    drawdowns: list[float] = []
    peak = equity[0]
    for value in equity:
        peak = max(peak, value)
        drawdowns.append((peak - value) / peak)
    return drawdowns


def max_drawdown(equity: Sequence[float]) -> float:
    """Largest drawdown of :func:`drawdown_series` as a positive fraction; 0.0 if none."""
    return max(drawdown_series(equity), default=0.0)


def max_drawdown_duration(
    timestamps_ns: Sequence[int], equity: Sequence[float]
) -> DrawdownDuration:
    """Longest peak-to-recovery episode; see :class:`DrawdownDuration` for the definition.

    Recovery means equity at or above the earlier peak (equal counts). Measured in time and
    not only in samples, because an irregularly sampled curve's sample count says little.
    """
    if len(timestamps_ns) != len(equity):
        raise ValueError(
            f"timestamps length {len(timestamps_ns)}: must equal the equity length {len(equity)}"
        )
    check_timestamps(timestamps_ns)
    check_finite(equity, "equity")
    episodes: list[tuple[int, int, bool]] = []  # (peak_index, end_index, recovered)
    peak_index = 0
    in_drawdown = False
    for index in range(1, len(equity)):
        if equity[index] >= equity[peak_index]:
            if in_drawdown:
                episodes.append((peak_index, index, True))
                in_drawdown = False
            peak_index = index
        else:
            in_drawdown = True
    if in_drawdown:
        episodes.append((peak_index, len(equity) - 1, False))
    best: DrawdownDuration = DrawdownDuration(
        duration_ns=0, duration_samples=0, peak_index=None, end_index=None, recovered=True
    )
    for start, end, recovered in episodes:
        duration_ns = timestamps_ns[end] - timestamps_ns[start]
        if best.peak_index is None or duration_ns > best.duration_ns:
            best = DrawdownDuration(
                duration_ns=duration_ns,
                duration_samples=end - start,
                peak_index=start,
                end_index=end,
                recovered=recovered,
            )
    return best


def annualization_factor(
    timestamps_ns: Sequence[int], *, periods_per_year: float | None = None
) -> float:
    """Sampling periods per year, the factor that turns per-period statistics into annual ones.

    By default ``NANOSECONDS_PER_YEAR / median(timestamps[i + 1] - timestamps[i])``: right
    for a 24/7 market sampled at a fixed interval, and the median keeps one gap (an outage)
    from skewing it. Calendar-based sampling over a market that closes overnight and at
    weekends does not fit that rule, so the caller can pass ``periods_per_year`` (252 for
    daily stock bars), which is validated and returned unchanged.
    """
    if periods_per_year is not None:
        if not math.isfinite(periods_per_year) or periods_per_year <= 0.0:
            raise ValueError(f"periods_per_year {periods_per_year!r}: must be positive and finite")
        return periods_per_year
    check_timestamps(timestamps_ns)
    if len(timestamps_ns) < 2:
        raise ValueError(
            f"timestamps length {len(timestamps_ns)}: need at least two to infer the interval"
        )
    intervals = [b - a for a, b in zip(timestamps_ns, timestamps_ns[1:], strict=False)]
    return NANOSECONDS_PER_YEAR / statistics.median(intervals)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean, summed with :func:`math.fsum`; the sequence must not be empty."""
    return math.fsum(values) / len(values)


def sample_standard_deviation(values: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction (divide by ``n - 1``); needs ``n >= 2``."""
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def downside_deviation(values: Sequence[float]) -> float:
    """``sqrt(sum(min(r, 0) ** 2) / n)``: dispersion of losses below a 0 target, over all ``n``.

    Dividing by all ``n`` periods (not only the losing ones) is the Sortino & Price
    definition: a strategy that rarely loses has a small downside deviation.
    """
    return math.sqrt(math.fsum(min(v, 0.0) ** 2 for v in values) / len(values))


def central_moment(values: Sequence[float], order: int) -> float:
    """``mean((r - mean(r)) ** order)``, the population (biased) central moment."""
    centre = mean(values)
    return math.fsum((v - centre) ** order for v in values) / len(values)


def quantile(values: Sequence[float], probability: float) -> float:
    """Linearly interpolated quantile (type 7, see the module docstring); ``n >= 1``."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability {probability!r}: must be within [0, 1]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * probability
    lower = math.floor(position)
    if lower + 1 >= len(ordered):
        return ordered[-1]
    return ordered[lower] + (position - lower) * (ordered[lower + 1] - ordered[lower])


def value_at_risk(values: Sequence[float], confidence: float = 0.95) -> float:
    """Historical value at risk: ``-quantile(r, 1 - confidence)``, a loss as a positive fraction.

    Read "in 95 % of periods the loss was no larger than this". It is negative when even
    the ``1 - confidence`` quantile is a gain.
    """
    return -quantile(values, 1.0 - confidence)


def conditional_value_at_risk(values: Sequence[float], confidence: float = 0.95) -> float:
    """Expected shortfall: ``-mean(r for r in values if r <= quantile(r, 1 - confidence))``.

    The average loss in the tail beyond value at risk. The tail always holds at least the
    smallest return, because the interpolated quantile is never below it.
    """
    threshold = quantile(values, 1.0 - confidence)
    return -mean([v for v in values if v <= threshold])
