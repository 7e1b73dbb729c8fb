"""Walk-forward and purged k-fold splits never let test bars leak into training."""

from __future__ import annotations

from hypothesis import given, strategies as st

from engine.research import purged_kfold, walk_forward

sizes = st.integers(min_value=1, max_value=400)


def covered(segments: tuple[tuple[int, int], ...]) -> set[int]:
    return {i for start, end in segments for i in range(start, end)}


@given(length=st.integers(min_value=0, max_value=2_000), in_sample=sizes, out_of_sample=sizes,
       step=st.none() | sizes, gap=st.integers(min_value=0, max_value=50),
       anchored=st.booleans())
def test_walk_forward_out_of_sample_always_after_in_sample(
    length: int, in_sample: int, out_of_sample: int, step: int | None, gap: int,
    anchored: bool,
) -> None:
    splits = walk_forward(length, in_sample, out_of_sample, step=step, gap=gap,
                          anchored=anchored)

    for split in splits:
        ((train_start, train_end),) = split.train
        test_start, test_end = split.test
        assert 0 <= train_start < train_end <= test_start < test_end <= length
        assert test_start - train_end == gap  # nothing of the test period is in-sample
        assert covered(split.train).isdisjoint(covered((split.test,)))
        assert train_start == 0 if anchored else train_end - train_start == in_sample
    starts = [split.test[0] for split in splits]
    assert starts == sorted(starts)
    if step is None:  # the default step tiles the out-of-sample segments without overlap
        for earlier, later in zip(splits, splits[1:], strict=False):
            assert earlier.test[1] == later.test[0]
    if length > in_sample + gap:
        assert splits  # at least one window fits, so one is returned


@given(length=st.integers(min_value=2, max_value=1_000), folds=st.integers(2, 12),
       purge=st.integers(0, 60), embargo=st.integers(0, 60))
def test_purged_kfold_purges_before_and_embargoes_after_each_test_block(
    length: int, folds: int, purge: int, embargo: int
) -> None:
    if folds > length:
        folds = length

    splits = purged_kfold(length, folds, purge=purge, embargo=embargo)

    tests = [split.test for split in splits]
    assert tests[0][0] == 0 and tests[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(tests, tests[1:], strict=False))
    for split in splits:
        start, end = split.test
        train = covered(split.train)
        forbidden = set(range(max(start - purge, 0), min(end + embargo, length)))
        assert train.isdisjoint(forbidden)
        assert train | forbidden == set(range(length))  # nothing else is dropped
