"""Fibonacci maths and input validation. No DBOS here.

``fib_recursive`` is deliberately slow (about 1.6**n calls) so it makes CPU load the
notebooks can see; ``fib_iterative`` is fast and exact for large n.
"""

from __future__ import annotations

#: Largest n accepted by the recursive variant (fib_recursive(35) takes seconds).
MAX_RECURSIVE_N = 35

#: Largest n accepted by the iterative variant (fib(10_000) has 2,090 digits).
MAX_ITERATIVE_N = 10_000


def validate_n(n: object, maximum: int = MAX_RECURSIVE_N) -> int:
    """Return ``n`` if it is an int (not a bool) with ``0 <= n <= maximum``.

    Raises ``TypeError`` for a non-int and ``ValueError`` for an int out of range; both
    messages name the value and the allowed range.
    """
    allowed = f"an int from 0 to {maximum}"
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be {allowed}, got {n!r} of type {type(n).__name__}")
    if not 0 <= n <= maximum:
        raise ValueError(f"n must be {allowed}, got {n}")
    return n


def fib_recursive(n: int) -> int:
    """fib(n) by naive recursion: exponential time, for CPU load. ``n <= MAX_RECURSIVE_N``."""
    validate_n(n, MAX_RECURSIVE_N)
    return _fib_naive(n)


def _fib_naive(n: int) -> int:
    return n if n < 2 else _fib_naive(n - 1) + _fib_naive(n - 2)


def fib_iterative(n: int) -> int:
    """fib(n) in n additions. ``n <= MAX_ITERATIVE_N``."""
    validate_n(n, MAX_ITERATIVE_N)
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
