"""Settings for the console: defaults < TOML file < CRYPTOJ_* environment < command-line flags.

Every value goes through the same parser whichever layer it comes from, and a bad one raises
`ConfigError` with a single line naming the key, where it came from and what is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import tomlkit
import tomlkit.exceptions

from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, MIN_FRAME_BYTES
from cryptoj_tui.engine.group_commit import INTENT_SYNC_WINDOW
from cryptoj_tui.engine.model import check_product_id
from cryptoj_tui.engine.risk import RiskLimits

APP_NAME = "cryptoj"
VENUES = {
    "paper": None,
    "coinbase": (
        "wss://advanced-trade-ws.coinbase.com",
        "https://api.coinbase.com",
        "wss://advanced-trade-ws-user.coinbase.com",
    ),
    "binance": None,
}
"""Named venues: None is the embedded paper venue (speaking Binance Spot's protocol for
"binance": a real Binance account is reached with --ws-url, --rest-url and --key-file);
otherwise (market ws, REST, user ws)."""
ENV_PREFIX = "CRYPTOJ_"
FRAME_BYTES_RANGE = (MIN_FRAME_BYTES, 1024 * 1024 * 1024)
MAX_WATCHED = 50
"""Products a console may watch from the start (each is a book kept and drawn)."""


class ConfigError(ValueError):
    """A setting that cannot be used; the message is one line for the user."""


def default_config_file() -> Path:
    """Where the TOML settings file lives unless --config or CRYPTOJ_CONFIG says otherwise."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_log_file() -> Path:
    """Where the console writes its log (the terminal belongs to the UI)."""
    return platformdirs.user_log_path(APP_NAME) / "cryptoj.log"


def _product(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a product id string such as BTC-USD, got {value!r}")
    return check_product_id(value.strip().upper())


def _ws_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a ws:// or wss:// URL, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{value!r} is not a ws:// or wss:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValueError(f"{value!r} has a bad port: {exc}") from None
    return value


def _non_negative_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    try:
        number = int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        number = None
    if number is None or number < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return number


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def _positive_seconds(value: object) -> float:
    number = _seconds(value)
    if number is None or not (0 < number < 86_400):
        raise ValueError(f"expected seconds > 0 (and under a day), got {value!r}")
    return number


def _intent_sync_window(value: object) -> float:
    number = _seconds(value)
    if number is None or not (0 <= number <= 1):
        raise ValueError(f"expected seconds from 0 to 1, got {value!r}")
    return number


def _frame_bytes(value: object) -> int:
    number = _non_negative_int(value)
    if not FRAME_BYTES_RANGE[0] <= number <= FRAME_BYTES_RANGE[1]:
        raise ValueError(f"expected bytes from {FRAME_BYTES_RANGE[0]:,} to {FRAME_BYTES_RANGE[1]:,}, got {value!r}")
    return number


def _switch(value: object) -> bool:
    """On or off: a TOML boolean, or from the environment 1/0, true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise ValueError(f"expected true or false, got {value!r}")


def _rest_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    return value.rstrip("/")


def _venue(value: object) -> str:
    if not isinstance(value, str) or value not in VENUES:  # a TOML array is no key of a mapping
        raise ValueError(f"expected one of {', '.join(VENUES)}, got {value!r}")
    return str(value)


def _table(value: object, pair: str) -> object:
    """A table given on one line, as the environment gives it ("name=value;name=value"), made a
    dict; any other value as it is. `pair` names the two sides in the error ("limit=value")."""
    if not isinstance(value, str):
        return value
    pairs = [part.partition("=") for part in value.split(";") if part.strip()]
    if any(not sep for _, sep, _ in pairs):
        raise ValueError(f"expected {pair} pairs separated by ';', got {value!r}")
    return {name.strip(): text.strip() for name, _, text in pairs}


def _keys(value: object) -> tuple[tuple[str, str], ...]:
    """A [keys] table (binding id = "key,key") or, from the environment, "id=key;id=key"."""
    value = _table(value, "binding_id=key")
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of binding id = keys, got {value!r}")
    for name, keys in value.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ValueError(f'{name}: expected keys as text such as "ctrl+k", got {keys!r}')
    return tuple(sorted((str(name), str(keys)) for name, keys in value.items()))


def _products(value: object) -> tuple[str, ...]:
    """Products to watch: a TOML array, or "BTC-USD,ETH-USD" (flag and environment)."""
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    if not isinstance(value, list):
        raise ValueError(f'expected product ids such as ["BTC-USD", "ETH-USD"], got {value!r}')
    products: list[str] = []
    for item in value:
        product_id = _product(item)
        if product_id not in products:
            products.append(product_id)
    if len(products) > MAX_WATCHED:
        raise ValueError(f"at most {MAX_WATCHED} products can be watched, got {len(products)}")
    return tuple(products)


def _risk(value: object) -> RiskLimits:
    """A [risk] table (limit = value, and [risk.products."ETH-USD"] tables of a product's own
    max_order_size and max_position) or, from the environment, "limit=value;limit=value"."""
    value = _table(value, "limit=value")
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of limit = value, got {value!r}")
    limits = RiskLimits()
    for name, number in value.items():
        if name != "products":
            limits = limits.replace(str(name), number)
    products = value.get("products", {})
    if not isinstance(products, dict):
        raise ValueError(f'products: expected tables such as [risk.products."ETH-USD"], got {products!r}')
    for product_id, own in products.items():
        if not isinstance(own, dict):
            raise ValueError(f"products.{product_id}: expected a table of max_order_size / max_position, got {own!r}")
        for name, number in own.items():
            try:
                limits = limits.replace(str(name), number, str(product_id))
            except ValueError as exc:
                raise ValueError(f"products.{product_id}: {exc}") from None
    return limits


def _order_size(value: object) -> str:
    """A positive size written exactly (a TOML float like 0.1 is read through its text)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f'expected a positive size such as "0.01", got {value!r}')
    try:
        size = Decimal(str(value).strip())
    except InvalidOperation:
        size = None
    if size is None or not size.is_finite() or size <= 0:
        raise ValueError(f'expected a positive size such as "0.01", got {value!r}')
    return format(size.normalize(), "f")


def _theme(value: object) -> str:
    # Textual's themes; the palette's "Change theme" switches among them at run time too.
    from textual.theme import BUILTIN_THEMES

    if not isinstance(value, str) or value not in BUILTIN_THEMES:
        raise ValueError(f"expected one of {', '.join(BUILTIN_THEMES)}, got {value!r}")
    return str(value)


def _optional_path(value: object) -> Path | None:
    return None if value is None or value == "" else _path(value)


def _path(value: object) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"expected a file path, got {value!r}")
    return Path(value).expanduser()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Resolved console settings. Frozen: read once at start."""

    product: str = "BTC-USD"
    products: tuple[str, ...] = ()
    """More products to watch from the start (the watchlist), beside `product`."""
    ws_url: str | None = None
    seed: int = 1
    stale_after: float = 5.0
    log_file: Path = field(default_factory=default_log_file)  # read when made: the platform dirs may move
    venue: str = "paper"
    rest_url: str | None = None
    user_ws_url: str | None = None
    """Where the key's order updates are served (Coinbase's user channel, Binance's WebSocket API)."""
    key_file: Path | None = None
    journal: Path | None = None
    intent_sync_window: float = INTENT_SYNC_WINDOW
    """Seconds an order's journalled intent may wait for its flush to disk (0: before it is sent)."""
    max_frame_bytes: int = MAX_FRAME_BYTES
    """The largest WebSocket frame the engine takes (a larger one closes the connection)."""
    risk: RiskLimits = field(default_factory=RiskLimits)
    """Pre-trade limits: the account's, and products' own (docs in README, Risk limits)."""
    order_size: str = "0.01"
    """The size an order ticket opens with."""
    fill_bell: bool = True
    """Ring the terminal's bell when an order of yours fills."""
    theme: str = "textual-dark"
    keys: tuple[tuple[str, str], ...] = ()
    """Remapped bindings: (binding id, keys); ids are listed by the help screen and the README."""
    given: frozenset[str] = field(default=frozenset(), compare=False)
    """The settings some layer set (the others are defaults)."""

    def endpoints(self) -> tuple[str, str | None, str | None] | None:
        """(ws_url, rest_url, user_ws_url) of the venue to reach, or None for the embedded one."""
        if self.ws_url is not None:
            return self.ws_url, self.rest_url, self.user_ws_url
        preset = VENUES[self.venue]
        if preset is None:
            return None
        ws_url, rest_url, user_ws_url = preset
        return ws_url, self.rest_url or rest_url, user_ws_url

    @property
    def protocol(self) -> str:
        """The protocol the venue speaks: "binance" for Binance Spot, else "coinbase"."""
        return "binance" if self.venue == "binance" else "coinbase"

    def journal_path(self) -> Path:
        """Where orders are journalled for an external venue (the paper venue's live in memory)."""
        return self.journal or platformdirs.user_data_path(APP_NAME) / "journal.db"


PARSERS: dict[str, Callable[[object], Any]] = {
    "product": _product,
    "products": _products,
    "ws_url": _ws_url,
    "seed": _non_negative_int,
    "stale_after": _positive_seconds,
    "log_file": _path,
    "venue": _venue,
    "rest_url": _rest_url,
    "user_ws_url": _ws_url,
    "key_file": _optional_path,
    "journal": _optional_path,
    "intent_sync_window": _intent_sync_window,
    "max_frame_bytes": _frame_bytes,
    "risk": _risk,
    "order_size": _order_size,
    "fill_bell": _switch,
    "theme": _theme,
    "keys": _keys,
}
HELP: dict[str, str] = {
    "product": "product to show at start (e.g. BTC-USD)",
    "products": "more products to watch from the start, e.g. ETH-USD,SOL-USD (the watchlist, screen 7)",
    "ws_url": "market data WebSocket URL; unset starts the embedded paper venue",
    "seed": "random seed of the embedded paper venue's market",
    "stale_after": "seconds without a frame before the feed counts as dead and reconnects",
    "log_file": "where the console writes its log",
    "venue": "paper (the embedded paper venue), coinbase (the real endpoints; needs a key), or binance "
    "(an embedded paper venue speaking Binance Spot; a real account with --ws-url/--rest-url/--key-file)",
    "user_ws_url": "where the key's order updates are served: Coinbase's user channel (default: the ws URL), "
    "Binance's WebSocket API (default: /ws-api/v3 on the ws URL's host)",
    "rest_url": "venue REST base URL (default: the ws URL's host over http(s))",
    "key_file": "CDP API key file (must be readable by you only)",
    "journal": "order journal file for an external venue (SQLite)",
    "intent_sync_window": "seconds an order's journalled intent may wait for its flush to disk, "
    "shared with the intents of that window (0: flushed before the order is sent)",
    "max_frame_bytes": "the largest WebSocket frame the engine takes, in bytes; a larger one closes the "
    "connection, which reconnects (default 64 MiB: a level2 snapshot is several MB)",
    "risk": 'risk limits: a [risk] table of limit = value, [risk.products."ETH-USD"] for a product\'s own '
    "max_order_size and max_position",
    "order_size": "the size an order ticket opens with (F1-F4 pick others)",
    "fill_bell": "ring the terminal's bell when an order of yours fills (true or false)",
    "theme": "colour theme: any of Textual's themes (textual-dark, nord, gruvbox, ...)",
    "keys": "remapped keys: a [keys] table of binding id = keys",
}
assert set(PARSERS) == {f.name for f in fields(Settings)} - {"given"} == set(HELP)


def _parse(key: str, value: object, origin: str) -> Any:
    try:
        return PARSERS[key](value)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def read_toml(path: Path, *, explicit: bool = False) -> dict[str, Any]:
    """The settings table of a TOML file; ConfigError names the file and line when it is broken.
    A missing file is no settings, unless it was named (`--config`, CRYPTOJ_CONFIG): then an error."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such file") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return data


def config_path(config_file: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The settings file in force: `--config`, else CRYPTOJ_CONFIG, else the platform's."""
    if config_file is not None:
        return config_file
    explicit = (os.environ if env is None else env).get(f"{ENV_PREFIX}CONFIG")
    return Path(explicit).expanduser() if explicit else default_config_file()


def save_setting(config_file: Path | None, key: str, value: object, env: Mapping[str, str] | None = None) -> Path:
    """Keep one setting in the TOML file (made if missing), leaving its comments and other
    settings as they are; returns the file. ConfigError says why it cannot be written."""
    path = config_path(config_file, env)
    _parse(key, value, f"{path}: {key}")
    try:
        document = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
        document[key] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomlkit.dumps(document))
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"{path}: cannot keep {key}: {exc}") from None
    return path


def load_settings(
    cli: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve settings from every layer; CLI values of None mean "not given"."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    explicit = config_file is not None or f"{ENV_PREFIX}CONFIG" in env
    config_file = config_path(config_file, env)
    values: dict[str, Any] = {}
    for key, value in read_toml(config_file, explicit=explicit).items():
        if key not in PARSERS:
            known = ", ".join(PARSERS)
            raise ConfigError(f"{config_file}: unknown setting {key!r} (known: {known})")
        values[key] = _parse(key, value, f"{config_file}: {key}")
    for key in PARSERS:
        name = f"{ENV_PREFIX}{key.upper()}"
        if name in env:
            values[key] = _parse(key, env[name], f"environment {name}")
    for key, value in cli.items():
        values[key] = _parse(key, value, f"--{key.replace('_', '-')}")
    return Settings(**values, given=frozenset(values))
