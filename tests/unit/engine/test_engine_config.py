"""Config decoding: every error names the file and the field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import Config, convert_config, decode_config, load_config
from engine.errors import ConfigError


class RiskConfig(Config):
    max_order_notional: float
    symbols: list[str] = []


class RootConfig(Config):
    name: str
    risk: RiskConfig


GOOD = """
name = "paper"
[risk]
max_order_notional = 1000.5
symbols = ["BTC/USDT.SIM"]
"""


def decode_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        decode_config(text, RootConfig, file="engine.toml")
    return caught.value


def test_decode_config_valid_toml_gives_frozen_struct() -> None:
    config = decode_config(GOOD, RootConfig, file="engine.toml")
    assert config == RootConfig(
        name="paper", risk=RiskConfig(max_order_notional=1000.5, symbols=["BTC/USDT.SIM"])
    )
    with pytest.raises(AttributeError):
        config.name = "live"  # type: ignore[misc]


def test_decode_config_wrong_type_names_file_and_field() -> None:
    error = decode_error('name = 1\n[risk]\nmax_order_notional = 1.0\n')
    assert (error.file, error.path) == ("engine.toml", "$.name")
    assert "Expected `str`, got `int`" in error.reason
    assert str(error).startswith("engine.toml: config field $.name: ")


def test_decode_config_wrong_type_in_nested_list_names_index() -> None:
    error = decode_error('name = "x"\n[risk]\nmax_order_notional = 1.0\nsymbols = [1]\n')
    assert error.path == "$.risk.symbols[0]"


def test_decode_config_missing_field_names_nested_path() -> None:
    error = decode_error('name = "x"\n[risk]\n')
    assert (error.file, error.path, error.reason) == (
        "engine.toml", "$.risk.max_order_notional", "required field is missing",
    )


def test_decode_config_unknown_field_is_an_error_naming_it() -> None:
    error = decode_error('name = "x"\n[risk]\nmax_order_notional = 1.0\nmax_ordr = 2\n')
    assert (error.path, error.reason) == ("$.risk.max_ordr", "unknown field (a typo?)")


def test_decode_config_bad_toml_names_file() -> None:
    error = decode_error("name = \n")
    assert (error.file, error.path) == ("engine.toml", "$")
    assert error.reason.startswith("not valid TOML: ")


def test_convert_config_prefixes_path() -> None:
    with pytest.raises(ConfigError) as caught:
        convert_config({"max_order_notional": "many"}, RiskConfig, file="s.toml",
                       path="$.strategies[0].params")
    assert caught.value.path == "$.strategies[0].params.max_order_notional"
    assert caught.value.file == "s.toml"


def test_convert_config_lax_input_converts() -> None:
    config = convert_config({"max_order_notional": "12.5"}, RiskConfig)
    assert config.max_order_notional == 12.5


def test_load_config_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(GOOD)
    assert load_config(path, RootConfig).name == "paper"


def test_load_config_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text('name = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, RootConfig)
    assert (caught.value.file, caught.value.path) == (str(path), "$.risk")


def test_load_config_missing_file_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, RootConfig)
    assert caught.value.file == str(path)
    assert caught.value.reason.startswith("cannot read the file: ")


def test_environment_overrides_merge_into_their_section() -> None:
    config = decode_config(GOOD, RootConfig, environ={
        "TRADEBUS__RISK__MAX_ORDER_NOTIONAL": "5.5", "OTHER": "x"})
    assert config.risk.max_order_notional == 5.5


def test_an_override_for_another_commands_section_is_left_to_it() -> None:
    config = decode_config(GOOD, RootConfig, environ={"TRADEBUS__API__PORT": "9000"},
                           other_sections=frozenset({"api"}))
    assert config.name == "paper"


def test_an_override_for_a_section_no_command_has_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        decode_config(GOOD, RootConfig, environ={"TRADEBUS__RISKK__MAX": "1"},
                      other_sections=frozenset({"api"}))
    assert (caught.value.path, caught.value.reason) == ("$.riskk", "unknown field (a typo?)")
