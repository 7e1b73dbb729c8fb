"""The daemon file: `[[venues]]` and `[[feeds]]` by kind, and the errors that name the field.

Each case is the bundled paper config with one edit; the edit must apply (a stale one
fails loudly), and the error must name the file and the exact field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.compose import (
    DEFAULT_BACKTEST_CONFIG,
    DEFAULT_DAEMON_CONFIG,
    build_node,
    load_daemon_config,
    prepare_backtest,
)
from api.compose.daemon import journal_identity
from api.compose.replay import ReplayFeedBinding
from api.compose.sim import SimVenueBinding, SimVenueEntry
from engine.errors import ConfigError
from engine.persistence import JournalIdentity

PAPER_TEXT = DEFAULT_DAEMON_CONFIG.read_text()
EXAMPLES = Path(__file__).resolve().parents[4] / "docs" / "examples"
VENUE = '[[venues]]\nkind = "sim"\nvenue = "SIM"\n'
FEED = '[[feeds]]\nkind = "replay"\n'


def edited(old: str, new: str, text: str = PAPER_TEXT) -> str:
    if old not in text:
        raise ValueError(f"edit {old!r}: not in the config")
    return text.replace(old, new, 1)


def at_top(line: str) -> str:
    """The paper config without its venue, `line` at the top level instead."""
    return edited('mode = "paper"\n', f'mode = "paper"\n{line}\n', edited(VENUE, ""))


def write(folder: Path, text: str) -> Path:
    path = folder / "paper.toml"
    path.write_text(text)
    return path


CONFIG_ERRORS = [
    pytest.param(VENUE, '[[venues]]\nkind = "fix"\nvenue = "SIM"\n', "$.venues[0].kind",
                 "unknown venue kind 'fix' (one of: ccxt, ibkr, sim)", id="unknown-venue-kind"),
    pytest.param(FEED, '[[feeds]]\nkind = "websocket"\n', "$.feeds[0].kind",
                 "unknown feed kind 'websocket' (one of: ccxt, ibkr, replay)",
                 id="unknown-feed-kind"),
    pytest.param(VENUE, '[[venues]]\nvenue = "SIM"\n', "$.venues[0].kind",
                 "required field is missing (one of: ccxt, ibkr, sim)", id="venue-without-kind"),
    pytest.param(FEED, "[[feeds]]\n", "$.feeds[0].kind",
                 "required field is missing (one of: ccxt, ibkr, replay)",
                 id="feed-without-kind"),
    pytest.param(VENUE, '[[venues]]\nkind = "ccxt"\nvenue = "SIM"\n', "$.venues[0].kind",
                 "'ccxt' sends real orders: set mode = \"live\"", id="live-venue-on-paper"),
    pytest.param('mode = "paper"', 'mode = "live"', "$.mode",
                 '"live" needs a live venue', id="live-mode-without-live-venue"),
    pytest.param(FEED, FEED + "speedd = 2.0\n", "$.feeds[0].speedd",
                 "unknown field (a typo?)", id="field-the-feed-kind-lacks"),
    pytest.param(VENUE, VENUE + "max_volume_fractoin = 0.5\n", "$.venues[0].max_volume_fractoin",
                 "unknown field (a typo?)", id="field-the-venue-kind-lacks"),
    pytest.param(VENUE, VENUE + "max_volume_fraction = 2.0\n", "$.venues[0]",
                 "max_volume_fraction 2.0: must be > 0 and <= 1", id="bad-venue-value"),
    pytest.param('timeframe = "1m"\n\n[[strategies]]', 'timeframe = "7q"\n\n[[strategies]]',
                 "$.feeds[0].timeframe", "timeframe '7q'", id="bad-feed-timeframe"),
    pytest.param(VENUE, VENUE + "\n" + VENUE, "$.venues[1].venue", "'SIM' is listed twice",
                 id="venue-twice"),
    pytest.param(VENUE, '[venue]\nvenue = "SIM"\n', "$.venue",
                 'lists its venues as [[venues]] entries now: write [[venues]] with kind = "sim"',
                 id="old-venue-section"),
    pytest.param(VENUE, "", "$.venues", "required field is missing", id="no-venues"),
    pytest.param(None, "venues = []", "$.venues", "at least one venue is required",
                 id="empty-venues"),
    pytest.param(None, 'venues = "sim"', "$.venues", "Expected `array`, got `str`",
                 id="venues-not-an-array"),
    pytest.param('path = "sample:btcusdt_1m.csv"', 'path = "absent.csv"', "$.feeds[0].path",
                 "no such file", id="missing-feed-file"),
]


@pytest.mark.parametrize(("old", "new", "field", "reason"), CONFIG_ERRORS)
def test_daemon_config_error_names_file_and_field(
    tmp_path: Path, old: str | None, new: str, field: str, reason: str
) -> None:
    path = write(tmp_path, edited(old, new) if old is not None else at_top(new))

    with pytest.raises(ConfigError) as raised:
        config, file = load_daemon_config(path, environ={})
        build_node(config, file=file, cwd=tmp_path)  # what only building can find

    error = raised.value
    assert (error.path, error.file) == (field, str(path))
    assert reason in error.reason
    assert "\n" not in str(error)


def test_daemon_config_second_feed_of_one_instrument_is_refused(tmp_path: Path) -> None:
    feed = PAPER_TEXT[PAPER_TEXT.index(FEED):PAPER_TEXT.index("[[strategies]]")]
    path = write(tmp_path, edited(FEED, feed + FEED))

    with pytest.raises(ConfigError) as raised:
        load_daemon_config(path, environ={})

    assert raised.value.path == "$.feeds[1].instrument_id"
    assert "already has a feed" in raised.value.reason


def test_daemon_config_builds_one_binding_per_entry_by_kind(tmp_path: Path) -> None:
    config, file = load_daemon_config(None, environ={})

    node = build_node(config, file=file, cwd=tmp_path)

    assert config.venues == [SimVenueEntry(venue="SIM")]
    [venue] = node.venues
    [feed] = node.feeds
    assert isinstance(venue, SimVenueBinding) and venue.venue == "SIM"
    assert isinstance(feed, ReplayFeedBinding) and feed.instrument_id == "BTC/USDT.SIM"
    assert node.journal_path == tmp_path / "tradebus-data" / "journal.sqlite"


def test_daemon_config_examples_load_and_live_needs_its_credentials(tmp_path: Path) -> None:
    paper, _ = load_daemon_config(EXAMPLES / "paper.toml", environ={})
    live, live_file = load_daemon_config(EXAMPLES / "live.toml", environ={})
    on_ccxt, _ = load_daemon_config(EXAMPLES / "paper-ccxt.toml", environ={})
    ibkr, ibkr_file = load_daemon_config(EXAMPLES / "live-ibkr.toml", environ={})
    ibkr_node = build_node(ibkr, file=ibkr_file, cwd=tmp_path, environ={})  # no secret
    with pytest.raises(ConfigError) as no_credentials:
        build_node(live, file=live_file, cwd=tmp_path, environ={})
    backtest = prepare_backtest(EXAMPLES / "backtest.toml")

    assert paper == load_daemon_config(None, environ={})[0]  # the example is the default
    assert (live.mode, [venue.__struct_config__.tag for venue in live.venues]) == (
        "live", ["ccxt"])
    assert no_credentials.value.path == "$.venues[0].api_key_env"
    assert "TRADEBUS_BINANCE_API_KEY is not set" in no_credentials.value.reason
    assert [(v.__struct_config__.tag, f.__struct_config__.tag)
            for v, f in zip(on_ccxt.venues, on_ccxt.feeds, strict=True)] == [("sim", "ccxt")]
    assert [(venue.venue, feed.instrument_id) for venue, feed in zip(
        ibkr_node.venues, ibkr_node.feeds, strict=True)] == [("IBKR", "AAPL.IBKR")]
    assert backtest.config == prepare_backtest(DEFAULT_BACKTEST_CONFIG).config


EXAMPLES = Path(__file__).resolve().parents[4] / "docs" / "examples"


@pytest.mark.parametrize(("example", "operational", "identity"), [
    ("live.toml", ("\nrequest_timeout_s = 10.0", "\nrequest_timeout_s = 3.0"),
     ("\nsandbox = true", "\nsandbox = false")),  # the first: the venue's
    ("live-ibkr.toml", ("\nport = 4002", "\nport = 4001"),
     ('\naccount = "', '\naccount = "X')),
])
def test_a_live_venues_operational_settings_are_not_its_journals_identity(
    tmp_path: Path, example: str, operational: tuple[str, str], identity: tuple[str, str],
) -> None:
    # A live venue's fills are inputs: how it is reached (timeouts, ports) may change
    # between sessions; which account it is may not.
    text = (EXAMPLES / example).read_text()

    def identity_of(edited: str) -> JournalIdentity:
        path = tmp_path / example
        path.write_text(edited)
        config, _ = load_daemon_config(path, environ={})
        return journal_identity(config, [], [])

    base = identity_of(text)
    assert operational[0] in text and identity[0] in text
    assert identity_of(text.replace(*operational, 1)) == base
    assert identity_of(text.replace(*identity, 1)) != base
