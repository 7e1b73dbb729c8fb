"""Check the crossover rule on hand-made ties and against a brute-force reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from engine.indicators import CrossOver


def run(detector: CrossOver, pairs: list[tuple[float, float]]) -> list[str]:
    """Feed pairs; name each update's outcome: 'up', 'down' or '-'."""
    outcomes = []
    for fast, slow in pairs:
        detector.update(fast, slow)
        assert not (detector.crossed_above and detector.crossed_below)
        outcomes.append(
            "up" if detector.crossed_above else "down" if detector.crossed_below else "-"
        )
    return outcomes


def brute_force(differences: list[float], tolerance: float) -> list[str]:
    """Apply the rule literally: scan back for the last non-zero sign before each update."""

    def sign(difference: float) -> int:
        return 1 if difference > tolerance else -1 if difference < -tolerance else 0

    outcomes = []
    for index, difference in enumerate(differences):
        previous = next(
            (sign(earlier) for earlier in reversed(differences[:index]) if sign(earlier)), 0
        )
        current = sign(difference)
        if current == 1 and previous == -1:
            outcomes.append("up")
        elif current == -1 and previous == 1:
            outcomes.append("down")
        else:
            outcomes.append("-")
    return outcomes


def test_cross_over_ties_keep_last_sign() -> None:
    pairs = [
        (1.0, 2.0),  # below: first sign, no cross
        (2.0, 2.0),  # tie: still below
        (3.0, 2.0),  # above after below (through a tie): cross up
        (2.0, 2.0),  # tie: still above
        (2.0, 2.0),  # tie
        (3.0, 2.0),  # above again after ties: touch and bounce, no cross
        (1.0, 2.0),  # below after above: cross down
        (1.0, 2.0),  # still below: no new cross
        (2.0, 2.0),  # tie
        (1.5, 2.0),  # below again: no cross
        (5.0, 2.0),  # cross up
    ]
    assert run(CrossOver(), pairs) == ["-", "-", "up", "-", "-", "-", "down", "-", "-", "-", "up"]


def test_cross_over_first_non_zero_sign_is_not_a_cross() -> None:
    detector = CrossOver()
    assert run(detector, [(0.0, 0.0), (0.0, 0.0), (3.0, 1.0)]) == ["-", "-", "-"]
    assert detector.initialized
    assert detector.sign == 1


def test_cross_over_within_tolerance_counts_as_tie() -> None:
    detector = CrossOver(tolerance=0.5)
    pairs = [(1.0, 2.0), (2.4, 2.0), (2.5, 2.0), (2.6, 2.0)]
    assert run(detector, pairs) == ["-", "-", "-", "up"]


def test_cross_over_default_tolerance_ignores_float_noise() -> None:
    detector = CrossOver()
    assert run(detector, [(1.0, 2.0), (0.1 + 0.2, 0.3), (0.3, 0.1 + 0.2)]) == ["-", "-", "-"]


def test_cross_over_reset_forgets_side() -> None:
    detector = CrossOver()
    run(detector, [(1.0, 2.0)])
    detector.reset()
    assert not detector.initialized
    assert detector.count == 0
    assert run(detector, [(3.0, 2.0)]) == ["-"]


@pytest.mark.parametrize("tolerance", [0.0, 1e-9, 1.0])
def test_cross_over_zero_difference_is_never_a_cross(tolerance: float) -> None:
    assert run(CrossOver(tolerance), [(1.0, 1.0)] * 5) == ["-"] * 5


@settings(database=None, max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), max_size=60),
    st.sampled_from([0.0, 1e-9, 0.5, 1.0, 2.0]),
)
def test_cross_over_integer_pairs_match_brute_force(
    pairs: list[tuple[int, int]], tolerance: float
) -> None:
    floats = [(float(fast), float(slow)) for fast, slow in pairs]
    differences = [fast - slow for fast, slow in floats]
    assert run(CrossOver(tolerance), floats) == brute_force(differences, tolerance)


@settings(database=None, max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)),
        max_size=40,
    ),
    st.floats(0.0, 10.0),
)
def test_cross_over_float_pairs_match_brute_force(
    pairs: list[tuple[float, float]], tolerance: float
) -> None:
    differences = [fast - slow for fast, slow in pairs]
    assert run(CrossOver(tolerance), pairs) == brute_force(differences, tolerance)
