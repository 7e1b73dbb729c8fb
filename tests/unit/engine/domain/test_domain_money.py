"""Money helpers: exact conversion from floats and rounding to an instrument's increments."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, strategies as st

from engine.domain.money import (
    ZERO,
    is_on_increment,
    round_down_to_increment,
    round_to_increment,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "increment", "expected"),
    [
        ("0.125", "0.01", "0.12"),  # tie: to the even step
        ("0.135", "0.01", "0.14"),
        ("-0.125", "0.01", "-0.12"),
        ("7.5", "5", "10"),  # 1.5 steps -> 2
        ("12.5", "5", "10"),  # 2.5 steps -> 2
        ("5", "10", "0"),
        ("15", "10", "20"),
        ("0.126", "0.01", "0.13"),
        ("101", "0.5", "101.0"),
        ("30000.1234", "0.25", "30000.00"),
    ],
)
def test_round_to_increment_rounds_half_even_and_keeps_exponent(
    value: str, increment: str, expected: str
) -> None:
    result = round_to_increment(D(value), D(increment))
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "increment", "expected"),
    [
        ("0.019", "0.01", "0.01"),
        ("-0.019", "0.01", "-0.01"),  # toward zero: a size never grows
        ("1.23456789", "0.00001", "1.23456"),
        ("0.0099", "0.01", "0.00"),
        ("9.99", "5", "5"),
        ("10", "5", "10"),
    ],
)
def test_round_down_to_increment_rounds_toward_zero(
    value: str, increment: str, expected: str
) -> None:
    assert str(round_down_to_increment(D(value), D(increment))) == expected


@pytest.mark.parametrize("helper", [round_to_increment, round_down_to_increment])
@pytest.mark.parametrize("increment", ["0", "-0.01"])
def test_rounding_invalid_increment_raises(helper: object, increment: str) -> None:
    with pytest.raises(ValueError, match=rf"increment {increment}: must be > 0"):
        helper(D("1"), D(increment))  # type: ignore[operator]


def test_is_on_increment_exact_multiples_only() -> None:
    assert is_on_increment(D("0.30"), D("0.1"))
    assert is_on_increment(D("-0.3"), D("0.1"))
    assert not is_on_increment(D("0.31"), D("0.1"))
    assert not is_on_increment(D("1"), ZERO)
    assert not is_on_increment(D("1"), D("-1"))


def test_to_decimal_float_goes_through_shortest_repr() -> None:
    assert to_decimal(0.1) == D("0.1")
    assert str(to_decimal(30000.12)) == "30000.12"
    assert to_decimal(1e-7) == D("1E-7")


def test_to_decimal_other_inputs_are_exact() -> None:
    exact = D("1.50")
    assert to_decimal(exact) is exact
    assert to_decimal(3) == D(3)
    assert str(to_decimal("1.50")) == "1.50"


steps = st.integers(min_value=-10**9, max_value=10**9)
increments = st.sampled_from([D("1"), D("0.5"), D("0.01"), D("0.00001"), D("25")])


@given(value=st.decimals(min_value=-10**6, max_value=10**6, places=6), increment=increments)
def test_rounding_result_is_on_increment_and_close(value: D, increment: D) -> None:
    nearest = round_to_increment(value, increment)
    down = round_down_to_increment(value, increment)
    assert is_on_increment(nearest, increment) and is_on_increment(down, increment)
    assert abs(nearest - value) <= increment / 2
    assert abs(down) <= abs(value) and abs(value - down) < increment


@given(step=steps, increment=increments)
def test_rounding_value_on_increment_is_unchanged(step: int, increment: D) -> None:
    value = step * increment
    assert round_to_increment(value, increment) == value
    assert round_down_to_increment(value, increment) == value
