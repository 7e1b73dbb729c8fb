"""What a new user meets first: `--version`, a description they understand, help text for
every option, and an install without setuptools deprecation warnings (issue 14)."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from api.cli import DESCRIPTION, build_parser, main, version
from api.research.cli import COMMANDS as RESEARCH_COMMANDS

ROOT = Path(__file__).resolve().parents[4]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found[name] = child
                found.update({f"{name} {k}": v for k, v in subparsers(child).items()})
    return found


def test_version_prints_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"tradebus {version()}\n"


def test_top_level_help_describes_tradebus_for_a_user(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    out = capsys.readouterr().out
    assert "backtest" in DESCRIPTION and "paper trade" in DESCRIPTION
    assert "composition root" not in out and "subcommand module" not in out


def test_every_option_of_the_core_commands_has_help() -> None:
    commands = {name: parser for name, parser in subparsers(build_parser()).items()
                if name.split()[0] not in RESEARCH_COMMANDS}
    assert {"backtest", "run", "record", "journal list", "journal export", "results trades"} <= (
        set(commands))

    missing = [f"{name} {'/'.join(action.option_strings) or action.dest}"
               for name, parser in commands.items() for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]

    assert missing == []


def test_pyproject_license_is_an_spdx_expression_setuptools_does_not_warn_about() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert pyproject["project"]["license"] == "MIT"  # not the deprecated { text = ... }
    assert "setuptools>=77" in pyproject["build-system"]["requires"]  # reads SPDX strings
