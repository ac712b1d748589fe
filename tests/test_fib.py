from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiblab.fib import (
    MAX_ITERATIVE_N,
    MAX_RECURSIVE_N,
    fib_iterative,
    fib_recursive,
    validate_n,
)

pytestmark = pytest.mark.unit

KNOWN = [(0, 0), (1, 1), (2, 1), (3, 2), (10, 55), (20, 6765), (30, 832040)]


@pytest.mark.parametrize(("n", "expected"), KNOWN)
def test_known_values(n: int, expected: int) -> None:
    assert fib_recursive(n) == expected
    assert fib_iterative(n) == expected


def test_iterative_handles_large_n() -> None:
    assert fib_iterative(100) == 354224848179261915075
    assert len(str(fib_iterative(MAX_ITERATIVE_N))) == 2090


@pytest.mark.parametrize("bad", [-1, MAX_RECURSIVE_N + 1, 10**9])
def test_out_of_range_names_value_and_range(bad: int) -> None:
    with pytest.raises(ValueError) as error:
        fib_recursive(bad)
    assert str(bad) in str(error.value)
    assert f"0 to {MAX_RECURSIVE_N}" in str(error.value)


@pytest.mark.parametrize("bad", [3.0, "7", None, True, False, [3], 2 + 0j])
def test_wrong_type_names_value_and_type(bad: object) -> None:
    with pytest.raises(TypeError) as error:
        validate_n(bad)
    assert repr(bad) in str(error.value)
    assert type(bad).__name__ in str(error.value)


@given(st.integers(min_value=0, max_value=MAX_ITERATIVE_N))
def test_valid_ints_pass_through(n: int) -> None:
    assert validate_n(n, MAX_ITERATIVE_N) == n


@given(st.integers().filter(lambda n: n < 0 or n > MAX_RECURSIVE_N))
def test_every_out_of_range_int_is_rejected(n: int) -> None:
    with pytest.raises(ValueError, match=str(n)):
        validate_n(n)


@given(st.one_of(st.floats(), st.text(), st.booleans(), st.none(), st.binary()))
def test_every_non_int_is_rejected(value: object) -> None:
    with pytest.raises(TypeError):
        validate_n(value)


@given(st.integers(min_value=2, max_value=500))
def test_recurrence(n: int) -> None:
    assert fib_iterative(n) == fib_iterative(n - 1) + fib_iterative(n - 2)
