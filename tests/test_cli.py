"""The command lines' shared scaffolding: validated options and distinct exit codes."""

from __future__ import annotations

import os

import pytest

from fiblab import cli, health, server, supervisor

pytestmark = pytest.mark.unit  # no process, no database


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-crashes", "0"],
        ["--max-crashes", "many"],
        ["--health-port", "70000"],
        ["--window", "0"],
        ["--restart-delay", "-1"],
    ],
)
def test_the_supervisor_refuses_bad_arguments_with_exit_code_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        supervisor.main(["--executor-id", "w", "--database-url", "sqlite:///x.sqlite", *argv])
    assert exited.value.code == cli.EXIT_BAD_ARGUMENTS
    assert argv[0] in capsys.readouterr().err


def test_the_supervisor_documents_its_exit_codes_and_keeps_gave_up_apart() -> None:
    text = " ".join(supervisor.build_parser().format_help().split())
    assert cli.EXIT_FAILED != cli.EXIT_BAD_ARGUMENTS  # a caller can tell them apart
    assert f"{cli.EXIT_FAILED} when it gave up" in text  # what --help says is true
    assert f"{cli.EXIT_BAD_ARGUMENTS} for bad arguments" in text


def test_the_programs_share_the_common_options() -> None:
    def options(parser) -> set[str]:
        return {o for action in parser._actions for o in action.option_strings}

    common = {"--database-url", "--executor-id", "--scratch-dir", "--no-parent-watch"}
    assert common <= options(server.build_parser())
    assert common <= options(supervisor.build_parser())
    assert "--no-parent-watch" in options(health.build_parser())


def test_a_program_logger_prefixes_its_name_and_pid(capsys) -> None:
    cli.logger("fiblab-test")("hello")
    assert capsys.readouterr().out == f"[fiblab-test pid={os.getpid()}] hello\n"
