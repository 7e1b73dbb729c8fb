"""Train/test splits of a time series, as half-open index ranges: walk-forward and k-fold.

Both return `Split`s: the training segments (one for walk-forward, up to two for
k-fold) and the one test segment, each `(start, end)` with `start <= i < end` over the
bars of the data. Indices, not timestamps, so the rules are easy to state and test; the
caller maps them to the data's `ts_event`s.

Walk-forward: in-sample `[a, b)`, then `gap` bars skipped, then out-of-sample
`[b + gap, b + gap + out_of_sample)`; the next window starts `step` bars later. The
out-of-sample segment always lies entirely after the in-sample one: no leakage.

Purged k-fold (López de Prado, *Advances in Financial Machine Learning*, ch. 7): the
data cut into `folds` contiguous test blocks; for each, training is everything else
minus `purge` bars before the test block (whose outcome horizon would overlap it) and
`embargo` bars after it (serial correlation leaks information forwards).
"""

from __future__ import annotations

import msgspec

__all__ = ("Segment", "Split", "purged_kfold", "walk_forward")

Segment = tuple[int, int]
"""`(start, end)`: the indices `start <= i < end`."""


class Split(msgspec.Struct, frozen=True, kw_only=True):
    """Training segments (in time order, non-empty) and the test segment."""

    train: tuple[Segment, ...]
    test: Segment


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{name} {value}: must be > 0")


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} {value}: must be >= 0")


def walk_forward(
    length: int,
    in_sample: int,
    out_of_sample: int,
    *,
    step: int | None = None,
    gap: int = 0,
    anchored: bool = False,
) -> list[Split]:
    """Return the walk-forward windows over `length` bars.

    Rolling windows keep `in_sample` bars; anchored ones grow from bar 0. `step`
    (default `out_of_sample`) moves each window on; with the default, the out-of-sample
    segments tile the data after the first in-sample window. The last out-of-sample
    segment may be shorter; windows with no out-of-sample bar left are not returned.

    Raises:
        ValueError: a non-positive size or step, or a negative gap or length.
    """
    _non_negative("length", length)
    _positive("in_sample", in_sample)
    _positive("out_of_sample", out_of_sample)
    _non_negative("gap", gap)
    step = out_of_sample if step is None else step
    _positive("step", step)
    splits: list[Split] = []
    offset = 0
    while True:
        train_end = offset + in_sample
        test_start = train_end + gap
        if test_start >= length:
            return splits
        train_start = 0 if anchored else offset
        splits.append(Split(train=((train_start, train_end),),
                            test=(test_start, min(test_start + out_of_sample, length))))
        offset += step


def purged_kfold(length: int, folds: int, *, purge: int = 0, embargo: int = 0) -> list[Split]:
    """Return `folds` splits of `length` bars: each test block once, purged and embargoed.

    Test blocks are contiguous and as equal as possible (the first `length % folds`
    blocks get one bar more, as `numpy.array_split`); they cover every bar exactly once.

    Raises:
        ValueError: fewer than two folds, more folds than bars, a negative purge/embargo.
    """
    if folds < 2:
        raise ValueError(f"folds {folds}: must be >= 2")
    if length < folds:
        raise ValueError(f"length {length}: fewer bars than folds ({folds})")
    _non_negative("purge", purge)
    _non_negative("embargo", embargo)
    size, extra = divmod(length, folds)
    splits: list[Split] = []
    start = 0
    for fold in range(folds):
        end = start + size + (1 if fold < extra else 0)
        before = (0, max(start - purge, 0))
        after = (min(end + embargo, length), length)
        train = tuple(segment for segment in (before, after) if segment[1] > segment[0])
        splits.append(Split(train=train, test=(start, end)))
        start = end
    return splits
