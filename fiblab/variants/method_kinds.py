"""Notebook 07, section 2: the other kinds of class workflow a client might try to reach.

:mod:`fiblab.variants.memo_instance` imports this module, so the memo server serves
these next to its configured instances (section 1) and no extra server has to start:

* ``FibTools.fib_static`` – a ``@staticmethod`` workflow: a function in a namespace;
* ``FibTools.fib_classmethod`` – a ``@classmethod`` workflow: it needs its class as ``cls``;
* ``OrdinaryCalculator.ordinary_fibonacci`` – a method of an ordinary instance (not a
  ``DBOSConfiguredInstance``): the server has the instance, but DBOS has no name for it.
"""

from __future__ import annotations

from dbos import DBOS

from fiblab.fib import MAX_ITERATIVE_N, fib_iterative, validate_n


@DBOS.dbos_class()
class FibTools:
    """Workflows that need no instance."""

    @staticmethod
    @DBOS.workflow()
    def fib_static(n: int) -> tuple[int, int]:
        validate_n(n, MAX_ITERATIVE_N)
        return n, fib_iterative(n)

    @classmethod
    @DBOS.workflow()
    def fib_classmethod(cls, n: int) -> tuple[str, int]:
        validate_n(n, MAX_ITERATIVE_N)
        return cls.__name__, fib_iterative(n)


@DBOS.dbos_class()
class OrdinaryCalculator:
    """A calculator like ``MemoCalculator``, minus ``DBOSConfiguredInstance`` and its name."""

    def __init__(self) -> None:
        self.memo: dict[int, int] = {0: 0, 1: 1}

    @DBOS.workflow()
    def ordinary_fibonacci(self, n: int) -> tuple[int, int]:
        validate_n(n, MAX_ITERATIVE_N)
        for i in range(len(self.memo), n + 1):
            self.memo[i] = self.memo[i - 1] + self.memo[i - 2]
        return n, self.memo[n]


ordinary_calculator = OrdinaryCalculator()  # the server has it; a client cannot name it
