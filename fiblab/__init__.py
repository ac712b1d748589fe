"""fiblab: a Fibonacci calculator that makes DBOS durable execution visible.

Modules, one job each: ``fib`` (maths), ``config`` (names, URLs, scratch folders),
``app`` (the DBOS workflows), ``server`` (one server process), ``processes``
(start/stop/crash servers), ``health`` (the health process and endpoint),
``supervisor`` (restart a crashed worker), ``client`` (DBOSClient helpers), ``plots``,
``lab`` (one notebook's workspace), ``display`` (showing source in a notebook),
``localpg`` (a throwaway PostgreSQL), ``lifecycle`` (how the long-running programs
stop), ``waiting``, ``chaos`` and ``variants`` (the designs that fail).
"""

__version__ = "0.1.0"
