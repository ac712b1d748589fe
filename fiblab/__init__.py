"""fiblab: a Fibonacci calculator that makes DBOS durable execution visible.

One job per module, in layers (README, "The fiblab package"; ``lint-imports`` checks
them). On top, two sides that never import each other. The notebook side: ``lab`` (one
notebook's workspace), ``processes`` (servers together, stray processes), ``chaos``,
``plots``, ``display``, ``machine``, ``cpu_hog`` (every core busy) and ``exercises``.
The programs: ``server`` (one server process), ``health`` (the health process),
``supervisor`` (restart a crashed worker), ``request`` (the client in a terminal),
``localpg`` (a throwaway PostgreSQL) and ``variants`` (the designs that fail). Below,
what both share: ``app`` and ``failing_workflows`` (the DBOS workflows), ``crashes`` and
``steplog`` (crashes on purpose, what really ran), ``client`` and ``timeline``
(DBOSClient helpers, spans), ``database``, ``stored`` and ``worker_thread`` (the system
database, read back, sync calls from a cell), ``spawn``, ``pidfile``, ``probe``,
``health_endpoint`` and ``worker_watch`` (child processes and their health),
``lifecycle``, ``cli`` and ``protocol`` (how programs stop, their options and exit
codes, their ready lines), ``waiting``, ``config`` and ``fib``.
"""

__version__ = "0.1.0"
