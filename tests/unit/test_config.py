"""Settings: layer precedence and a one-line error for every bad value."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from cryptoj_tui.config import ConfigError, Settings, load_settings
from cryptoj_tui.engine.risk import RiskLimits


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_when_nothing_is_given(tmp_path: Path) -> None:
    settings = load_settings({}, env={}, config_file=Path(os.devnull))
    assert settings == Settings()
    assert settings.ws_url is None and settings.product == "BTC-USD"


def test_file_then_env_then_cli_each_override_the_last(tmp_path: Path) -> None:
    path = write(tmp_path, 'product = "ETH-USD"\nseed = 3\nws_url = "ws://h:1"\nstale_after = 2.5\n')
    env = {"CRYPTOJ_SEED": "4", "CRYPTOJ_PRODUCT": "sol-usd"}
    settings = load_settings({"seed": "9", "product": None}, env=env, config_file=path)
    assert settings.product == "SOL-USD"
    assert settings.seed == 9
    assert settings.ws_url == "ws://h:1"
    assert settings.stale_after == 2.5


def test_the_intent_sync_window_defaults_to_the_engines_and_zero_is_allowed(tmp_path: Path) -> None:
    assert load_settings({}, env={}).intent_sync_window == 0.002
    assert load_settings({}, env={}, config_file=write(tmp_path, "intent_sync_window = 0\n")).intent_sync_window == 0
    assert load_settings({"intent_sync_window": "0.01"}, env={}).intent_sync_window == 0.01


def test_the_frame_limit_is_read_from_every_layer(tmp_path: Path) -> None:
    assert load_settings({}, env={}).max_frame_bytes == 64 * 1024 * 1024
    assert load_settings({}, env={}, config_file=write(tmp_path, "max_frame_bytes = 65536\n")).max_frame_bytes == 65536
    assert load_settings({"max_frame_bytes": "1048576"}, env={}).max_frame_bytes == 1 << 20


def test_config_file_can_be_named_by_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'product = "ETH-USD"\n')
    assert load_settings({}, env={"CRYPTOJ_CONFIG": str(path)}).product == "ETH-USD"


@pytest.mark.parametrize(
    ("cli", "env", "toml", "expected"),
    [
        ({"product": "BTC"}, {}, "", "--product: product id 'BTC' is not of the form BASE-QUOTE"),
        ({}, {"CRYPTOJ_PRODUCT": "btc_usd"}, "", "environment CRYPTOJ_PRODUCT: product id 'BTC_USD'"),
        ({}, {}, "product = 5\n", "config.toml: product: expected a product id string"),
        ({"ws_url": "http://x"}, {}, "", "--ws-url: 'http://x' is not a ws:// or wss:// URL"),
        ({"ws_url": "ws://h:99999"}, {}, "", "--ws-url: 'ws://h:99999' has a bad port"),
        ({}, {}, "ws_url = 3\n", "ws_url: expected a ws:// or wss:// URL, got 3"),
        ({}, {"CRYPTOJ_SEED": "-1"}, "", "environment CRYPTOJ_SEED: expected a whole number >= 0"),
        ({}, {"CRYPTOJ_SEED": "abc"}, "", "expected a whole number >= 0, got 'abc'"),
        ({}, {}, "seed = true\n", "seed: expected a whole number, got True"),
        ({}, {}, "seed = 1.5\n", "seed: expected a whole number >= 0, got 1.5"),
        ({"stale_after": "0"}, {}, "", "--stale-after: expected seconds > 0"),
        ({"stale_after": "nan"}, {}, "", "--stale-after: expected seconds > 0"),
        ({}, {}, "stale_after = false\n", "stale_after: expected seconds > 0"),
        ({}, {}, "stale_after = [1]\n", "stale_after: expected seconds > 0"),
        ({}, {}, "log_file = 1\n", "log_file: expected a file path"),
        ({"intent_sync_window": "-0.001"}, {}, "", "--intent-sync-window: expected seconds from 0 to 1, got '-0.001'"),
        (
            {},
            {"CRYPTOJ_INTENT_SYNC_WINDOW": "5"},
            "",
            "environment CRYPTOJ_INTENT_SYNC_WINDOW: expected seconds from 0 to 1",
        ),
        ({}, {}, "intent_sync_window = true\n", "intent_sync_window: expected seconds from 0 to 1, got True"),
        ({"max_frame_bytes": "12"}, {}, "", "--max-frame-bytes: expected bytes from 65,536 to 1,073,741,824, got '12'"),
        ({}, {"CRYPTOJ_MAX_FRAME_BYTES": "64MB"}, "", "CRYPTOJ_MAX_FRAME_BYTES: expected a whole number >= 0"),
        ({}, {}, "max_frame_bytes = 1e9\n", "max_frame_bytes: expected a whole number >= 0, got 1000000000.0"),
        ({}, {}, "colour = 'red'\n", "unknown setting 'colour'"),
        ({}, {}, "product = \n", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key_and_where_it_came_from(
    tmp_path: Path, cli: dict, env: dict, toml: str, expected: str
) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_settings(cli, env=env, config_file=path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_unreadable_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({}, env={}, config_file=tmp_path)  # a directory, not a file


def test_keys_remap_from_a_toml_table_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\nkill_switch = "ctrl+k,f12"\nbuy = "n"\n')
    settings = load_settings(env={}, config_file=config)
    assert dict(settings.keys) == {"kill_switch": "ctrl+k,f12", "buy": "n"}
    settings = load_settings(env={"CRYPTOJ_KEYS": "sell=m; quit=x"}, config_file=config)
    assert dict(settings.keys) == {"sell": "m", "quit": "x"}
    with pytest.raises(ConfigError, match=r"environment CRYPTOJ_KEYS: expected binding_id=key pairs"):
        load_settings(env={"CRYPTOJ_KEYS": "sell"}, config_file=Path(os.devnull))
    config.write_text('[keys]\nbuy = ""\n')
    with pytest.raises(ConfigError, match=r"keys: buy: expected keys as text"):
        load_settings(env={}, config_file=config)


def test_venue_key_file_and_rest_url_settings(tmp_path: Path) -> None:
    settings = load_settings(
        env={"CRYPTOJ_VENUE": "coinbase", "CRYPTOJ_KEY_FILE": str(tmp_path / "k.json")}, config_file=Path(os.devnull)
    )
    assert settings.endpoints() == (
        "wss://advanced-trade-ws.coinbase.com",
        "https://api.coinbase.com",
        "wss://advanced-trade-ws-user.coinbase.com",
    )
    assert settings.key_file == tmp_path / "k.json" and settings.journal_path().name == "journal.db"
    assert load_settings(env={}, config_file=Path(os.devnull)).endpoints() is None  # the embedded venue
    local = load_settings(
        cli={"ws_url": "ws://127.0.0.1:9", "rest_url": "http://127.0.0.1:9/"}, env={}, config_file=Path(os.devnull)
    )
    assert local.endpoints() == ("ws://127.0.0.1:9", "http://127.0.0.1:9", None)
    for env, message in [
        ({"CRYPTOJ_VENUE": "kraken"}, "expected one of paper, coinbase"),
        ({"CRYPTOJ_REST_URL": "ftp://x"}, "is not an http:// or https:// URL"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_settings(env=env, config_file=Path(os.devnull))


def test_order_size_and_theme_are_checked_where_they_come_from(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('order_size = 0.25\ntheme = "nord"\n')
    settings = load_settings(env={}, config_file=config)
    assert (settings.order_size, settings.theme) == ("0.25", "nord")
    assert load_settings(cli={"order_size": "1.50"}, env={}, config_file=config).order_size == "1.5"
    with pytest.raises(ConfigError, match=r"environment CRYPTOJ_ORDER_SIZE: expected a positive size"):
        load_settings(env={"CRYPTOJ_ORDER_SIZE": "-1"}, config_file=config)
    with pytest.raises(ConfigError, match=r"--order-size: expected a positive size"):
        load_settings(cli={"order_size": "NaN"}, env={}, config_file=config)
    config.write_text('theme = "neon"\n')
    with pytest.raises(ConfigError, match=r"config.toml: theme: expected one of textual-dark, .*got 'neon'"):
        load_settings(env={}, config_file=config)


def test_a_kept_setting_is_written_into_the_file_leaving_the_rest_as_it_was(tmp_path: Path) -> None:
    """Issue 18.16: the theme picked in the palette is kept in the config file; the file's other
    settings and comments stay as they were, and the next start reads it."""
    from cryptoj_tui.config import save_setting

    path = tmp_path / "config.toml"
    path.write_text('# my settings\nproduct = "ETH-USD"  # the one I trade\n\n[keys]\nbuy = "n"\n')
    assert save_setting(path, "theme", "nord") == path
    text = path.read_text()
    assert text.startswith('# my settings\nproduct = "ETH-USD"  # the one I trade\n') and 'buy = "n"' in text
    settings = load_settings(config_file=path, env={})
    assert (settings.theme, settings.product, settings.keys) == ("nord", "ETH-USD", (("buy", "n"),))
    save_setting(path, "theme", "gruvbox")
    assert load_settings(config_file=path, env={}).theme == "gruvbox" and text.count("theme") == 1


def test_a_kept_setting_makes_the_file_and_refuses_bad_values(tmp_path: Path) -> None:
    from cryptoj_tui.config import save_setting

    path = tmp_path / "new" / "config.toml"
    save_setting(None, "theme", "nord", env={"CRYPTOJ_CONFIG": str(path)})
    assert load_settings(env={"CRYPTOJ_CONFIG": str(path)}).theme == "nord"
    with pytest.raises(ConfigError, match="theme: expected one of"):
        save_setting(path, "theme", "no-such-theme")
    (tmp_path / "a-file").write_text("")  # a directory that is a file: the disk refuses (even root)
    with pytest.raises(ConfigError, match=r"a-file/sub/config\.toml: cannot keep theme: "):
        save_setting(tmp_path / "a-file" / "sub" / "config.toml", "theme", "nord")


def test_a_config_file_named_but_missing_is_an_error_the_default_one_is_not(tmp_path: Path) -> None:
    """Issue 25.6: `--config` naming a missing file silently ran on defaults."""
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file$"):
        load_settings(env={}, config_file=tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file$"):
        load_settings(env={"CRYPTOJ_CONFIG": str(tmp_path / "nope.toml")})
    settings = load_settings(env={"CRYPTOJ_PRODUCT": "ETH-USD"}, config_file=Path(os.devnull))
    assert settings.given == {"product"} and settings.product == "ETH-USD"


def test_risk_limits_come_from_a_table_with_products_own_and_from_the_environment(tmp_path: Path) -> None:
    toml = (
        "[risk]\nmax_position = 4\nmax_gross_notional = 250000\n"
        '[risk.products."ETH-USD"]\nmax_position = 40\nmax_order_size = 10\n'
        '[risk.products."DOGE-USD"]\nmax_position = 100000\n'
    )
    risk = load_settings({}, env={}, config_file=write(tmp_path, toml)).risk
    assert risk.max_position == Decimal(4) and risk.max_gross_notional == Decimal(250000)
    assert risk.max_position_of("ETH-USD") == Decimal(40) and risk.max_order_size_of("ETH-USD") == Decimal(10)
    assert risk.max_position_of("DOGE-USD") == Decimal(100000) and risk.max_order_size_of("DOGE-USD") == Decimal(5)
    assert load_settings({}, env={"CRYPTOJ_RISK": "max_order_size=0.5; reject_storm=3"}).risk.reject_storm == 3
    assert load_settings({}, env={}).risk == RiskLimits()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[risk]\nmax_postion = 4\n", "risk: unknown risk limit 'max_postion'"),
        ("[risk]\nmax_position = -4\n", "risk: risk limit max_position must be a positive number, got -4"),
        ('[risk]\nmax_position = "lots"\n', "risk: risk limit max_position: 'lots' is not a number"),
        ('[risk.products."ETH-USD"]\nreject_storm = 3\n', "products.ETH-USD: a product has its own max_order_size"),
        ("[risk.products.ETHUSD]\nmax_position = 3\n", "products.ETHUSD: product id 'ETHUSD' is not of the form"),
        ('[risk.products."ETH-USD"]\nmax_position = true\n', "products.ETH-USD: risk limit max_position: True is not"),
        ("risk = 5\n", "risk: expected a table of limit = value, got 5"),
    ],
)
def test_bad_risk_limits_name_the_limit_and_the_product(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, config_file=write(tmp_path, toml))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_the_fill_bell_is_on_unless_turned_off(tmp_path: Path) -> None:
    assert load_settings({}, env={}).fill_bell is True
    assert load_settings({}, env={}, config_file=write(tmp_path, "fill_bell = false\n")).fill_bell is False
    assert load_settings({}, env={"CRYPTOJ_FILL_BELL": "off"}).fill_bell is False
    with pytest.raises(ConfigError, match="environment CRYPTOJ_FILL_BELL: expected true or false, got 'maybe'"):
        load_settings({}, env={"CRYPTOJ_FILL_BELL": "maybe"})


def test_products_to_watch_from_every_layer(tmp_path: Path) -> None:
    assert load_settings({}, env={}).products == ()
    toml = 'products = ["eth-usd", "SOL-USD", "ETH-USD"]\n'
    assert load_settings({}, env={}, config_file=write(tmp_path, toml)).products == ("ETH-USD", "SOL-USD")
    assert load_settings({"products": "ETH-USD, SOL-USD"}, env={}).products == ("ETH-USD", "SOL-USD")
    with pytest.raises(ConfigError, match="--products: product id 'ETHUSD' is not of the form BASE-QUOTE"):
        load_settings({"products": "ETHUSD"}, env={})
    with pytest.raises(ConfigError, match="products: expected product ids"):
        load_settings({}, env={}, config_file=write(tmp_path, "products = 3\n"))
