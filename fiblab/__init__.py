"""fiblab: a Fibonacci calculator that makes DBOS durable execution visible.

Modules, one job each: ``fib`` (maths), ``config`` (names, URLs, scratch folders),
``database`` (migrate, prepare, connect, drop, read back), ``app`` (the DBOS workflows).
The programs: ``server`` (one server process), ``health`` (the health process and
endpoint), ``supervisor`` (restart a crashed worker), ``request`` (the client in a
terminal), ``localpg`` (a throwaway PostgreSQL) and ``variants`` (the designs that
fail); what they share: ``protocol`` (ready lines), ``cli`` (options, argument types,
logger) and ``lifecycle`` (how they stop). The notebook side: ``processes`` (handles
that start/stop/crash the programs), ``client`` (DBOSClient helpers), ``lab`` (one
notebook's workspace), ``machine`` (cores and baselines), ``cpu_hog`` (every core
busy), ``plots``, ``display``, ``waiting`` and ``chaos``.
"""

__version__ = "0.1.0"
