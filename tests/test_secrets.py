"""No password from FIBLAB_DATABASE_URL appears in a log line, message or repr of fiblab's.

Notebook outputs are checked where the notebooks run: tests/test_notebook_reruns.py.
"""

from __future__ import annotations

import socket

import pytest

from fiblab import config
from fiblab.cli import EXIT_NO_DATABASE
from fiblab.lab import Lab
from fiblab.spawn import ProcessFailed, ServerProcess

from .conftest import IN_THE_POSTGRES_PASS

PASSWORD = "Known-Secret-42"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


@pytest.mark.integration
@pytest.mark.skipif(
    IN_THE_POSTGRES_PASS, reason="its own unreachable URL, not the pass's: the SQLite pass ran it"
)
def test_a_server_that_cannot_connect_never_logs_the_password(tmp_path) -> None:
    url = f"postgresql://fiblab:{PASSWORD}@127.0.0.1:{closed_port()}/fiblab_secrets"
    # --database-wait: it gives up after 2 s of failed attempts instead of 30.
    args = ["--log-level", "DEBUG", "--database-wait", "2"]
    server = ServerProcess("secret", url, tmp_path, extra_args=args)
    with pytest.raises(ProcessFailed) as error:
        server.start().wait_ready(timeout=30)
    assert PASSWORD not in str(error.value)
    assert PASSWORD not in server.logs()
    assert "fiblab:***@127.0.0.1" in server.logs()
    assert "within 2 s" in server.logs()  # gave up when --database-wait said
    assert server.returncode == EXIT_NO_DATABASE and "Traceback" not in server.logs()
    assert PASSWORD not in " ".join(server.process.args)  # not on the command line either


@pytest.mark.unit
def test_lab_repr_and_url_errors_are_masked(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, f"mysql://u:{PASSWORD}@h/db")
    with pytest.raises(ValueError) as error:
        config.database_url("x")
    assert PASSWORD not in str(error.value)
    monkeypatch.setenv(config.DATABASE_URL_ENV, f"postgresql://u:{PASSWORD}@h/db")
    lab = Lab("x", root=tmp_path)  # creating a Lab connects to nothing
    assert PASSWORD not in repr(lab) and "u:***@h" in repr(lab)


@pytest.mark.integration
@pytest.mark.skipif(
    not IN_THE_POSTGRES_PASS,
    reason="needs the PostgreSQL pass (FIBLAB_DATABASE_URL=postgresql://…)",
)
def test_real_postgres_password_stays_out_of_server_logs(lab) -> None:
    from urllib.parse import urlsplit

    password = urlsplit(lab.database_url).password
    assert password, "the PostgreSQL pass uses a password"
    server = lab.start_server("s1", extra_args=["--log-level", "DEBUG"])
    assert password not in server.logs()
    assert password not in repr(lab)
    server.stop()
    assert password not in server.logs()
