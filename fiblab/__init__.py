"""fiblab: a Fibonacci calculator that makes DBOS durable execution visible.

Modules, one job each: ``fib`` (maths), ``config`` (names, URLs, scratch folders),
``app`` (the DBOS workflows), ``server`` (one server process), ``processes``
(start/stop/crash servers), ``client`` (DBOSClient helpers), ``plots``, ``lab``
(one notebook's workspace) and ``display`` (showing source in a notebook).
"""

__version__ = "0.1.0"
