"""The designs that do *not* survive a crash (and their fixes), as launchable server modules.

Each module defines its workflows at import time and, run as
``python -m fiblab.variants.<name> --executor-id ID …``, serves them with
:func:`fiblab.server.main` (same options as ``python -m fiblab.server``):

* ``memo_instance``     – a memoising calculator *instance* (``self.memo``) vs. state
  rebuilt in workflow code (notebook 07, section 1).
* ``plain_class``       – a plain class created inside the workflow; a step that crashes
  the process every time → crash loop (notebook 07, section 3).
* ``instance_argument`` – an object with credentials passed as a workflow argument vs.
  identifiers + a secret read inside a step (notebook 07, section 4).
* ``completion_order``  – steps called in the order they happen to finish vs. in a fixed
  order (notebook 08, part 1 and 3).
* ``workflow_in_step``  – a workflow started from inside a step vs. from workflow code
  (notebook 08, section 2).

Not a server but a program of three processes: ``blind_health`` – the original
``server2.py``'s health check, which says "healthy" while its worker is dead (notebook 06).

Workflow names are distinct across modules, so a notebook kernel may import them all (to
show their source) next to :mod:`fiblab.app`. Their steps record that they run and crash
on purpose through :func:`fiblab.crashes.note_step`; notebook 08's variants count their
workflow runs with :func:`fiblab.steplog.note_run`.
"""

from __future__ import annotations

import importlib
import sys

VARIANT_MODULES: tuple[str, ...] = (
    "fiblab.variants.memo_instance",
    "fiblab.variants.plain_class",
    "fiblab.variants.instance_argument",
    "fiblab.variants.completion_order",
    "fiblab.variants.workflow_in_step",
)


def serve(module_name: str, argv: list[str] | None = None) -> int:
    """Import ``module_name`` (its workflows register), then run a fiblab server for it.

    The module's ``DESCRIPTION`` heads its ``--help``. Variant modules call this from an
    ``if __name__ == "__main__":`` block placed *before* their definitions: ``python -m``
    runs a module under the name ``__main__``, but clients pickle objects by the real
    module path and DBOS refuses a class registered twice, so the server must run the
    module imported under its real name, once.
    """
    from .. import server

    module = importlib.import_module(module_name)
    return server.main(argv, prog=f"python -m {module_name}", description=module.DESCRIPTION)


def main_guard(module_name: str) -> None:
    """Serve ``module_name`` and exit (see :func:`serve`)."""
    sys.exit(serve(module_name))
