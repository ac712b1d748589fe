"""What the system database stores for a workflow, read back raw: inputs as bytes and words.

DBOS's default serializer stores a workflow's arguments as base64 text around pickle
bytes. Notebook 07 reads them back to show what an object passed as an argument leaves
in the database (its secrets included).
"""

from __future__ import annotations

import base64
import re

from . import config
from .database import sqlalchemy_url


def stored_inputs(database_url: str, workflow_id: str) -> str:
    """A workflow's arguments exactly as the system database stores them (DBOS 3.4 keeps
    them in the ``workflow_input`` table; older rows in ``workflow_status.inputs``)."""
    import sqlalchemy as sa

    schema = "dbos." if config.is_postgres(database_url) else ""
    query = sa.text(
        f"SELECT COALESCE(i.inputs, s.inputs) FROM {schema}workflow_status s "
        f"LEFT JOIN {schema}workflow_input i ON i.workflow_uuid = s.workflow_uuid "
        "WHERE s.workflow_uuid = :wid"
    )
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(query, {"wid": workflow_id}).scalar_one()
    finally:
        engine.dispose()


def decode_stored(text: str) -> bytes:
    """What DBOS's default serializer stored: base64 text around pickle bytes."""
    return base64.b64decode(text)


def printable_strings(data: bytes, shortest: int = 4) -> list[str]:
    """The readable words in ``data``: runs of at least ``shortest`` letters, digits,
    ``_``, ``.`` or ``-`` (what a curious reader of the database would spot first)."""
    return [run.decode() for run in re.findall(rb"[A-Za-z0-9_.\-]{%d,}" % shortest, data)]
