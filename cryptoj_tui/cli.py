"""Command line: `cryptoj` (the console), `cryptoj sim` (the paper venue on its own),
`cryptoj headless` (the engine on JSON lines), `cryptoj keygen` (an API key file)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

import platformdirs

from cryptoj_tui import __version__
from cryptoj_tui.config import HELP, ConfigError, Settings, load_settings, save_setting

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, subcommands included."""
    parser = argparse.ArgumentParser(
        prog="cryptoj",
        # argparse writes the subcommand as required ("COMMAND ..."); with none, cryptoj is the console.
        usage="%(prog)s [OPTIONS] [COMMAND [ARGS ...]]",
        description="A terminal trading console for crypto spot markets. With no venue "
        "configured it starts an embedded paper venue, so it works out of the box.",
    )
    parser.add_argument("--version", action="version", version=f"cryptoj {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--product", help=HELP["product"])
    parser.add_argument("--products", metavar="IDS", help=HELP["products"])
    parser.add_argument("--ws-url", metavar="URL", help=HELP["ws_url"])
    parser.add_argument("--seed", help=HELP["seed"])
    parser.add_argument("--stale-after", metavar="SECONDS", help=HELP["stale_after"])
    parser.add_argument("--log-file", metavar="FILE", help=HELP["log_file"])
    parser.add_argument("--venue", choices=["paper", "coinbase", "binance"], help=HELP["venue"])
    parser.add_argument("--rest-url", metavar="URL", help=HELP["rest_url"])
    parser.add_argument("--user-ws-url", metavar="URL", help=HELP["user_ws_url"])
    parser.add_argument("--key-file", metavar="FILE", help=HELP["key_file"])
    parser.add_argument("--journal", metavar="FILE", help=HELP["journal"])
    parser.add_argument("--intent-sync-window", metavar="SECONDS", help=HELP["intent_sync_window"])
    parser.add_argument("--max-frame-bytes", metavar="BYTES", help=HELP["max_frame_bytes"])
    parser.add_argument("--order-size", metavar="SIZE", help=HELP["order_size"])
    parser.add_argument("--theme", metavar="NAME", help=HELP["theme"])
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record the session to FILE (gzip JSON lines: every frame received, every REST call; "
        "docs/recording.md); off by default",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (none: the console)")
    sim = commands.add_parser(
        "sim",
        help="run the paper venue on its own",
        description="Run the paper venue until interrupted: it speaks Coinbase Advanced Trade's "
        "protocol, Binance Spot's (--protocol binance), or both on one port.",
    )
    sim.add_argument(
        "--protocol",
        choices=("coinbase", "binance", "both"),
        default="coinbase",
        help="the venue protocol served (default coinbase; see docs/binance.md)",
    )
    sim.add_argument(
        "--binance-weight-limit",
        type=int,
        default=6000,
        metavar="WEIGHT",
        help="Binance protocol: request weight a minute per address before 429 (default 6000, as Binance)",
    )
    sim.add_argument(
        "--binance-order-limit",
        type=int,
        default=100,
        metavar="ORDERS",
        help="Binance protocol: new orders in ten seconds per key before 429 (default 100, as Binance)",
    )
    sim.add_argument(
        "--binance-key-file",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="Binance key file (HMAC or Ed25519, or an Ed25519 key's public half) that may sign "
        "requests (repeatable; see cryptoj keygen --binance)",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    sim.add_argument("--seed", dest="sim_seed", type=int, default=1, help="market random seed")
    sim.add_argument(
        "--products",
        default="BTC-USD,ETH-USD,SOL-USD",
        help="comma-separated products to list (default BTC-USD,ETH-USD,SOL-USD)",
    )
    sim.add_argument(
        "--step-interval",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="mean seconds between market events per product; 0 freezes the market",
    )
    sim.add_argument(
        "--api-key-file",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="CDP key file, or a public key file {name, publicKey}, whose key may sign requests "
        "(repeatable; see cryptoj keygen)",
    )
    sim.add_argument(
        "--balances",
        default="USD=100000,BTC=2,ETH=20,SOL=200",
        metavar="CUR=AMOUNT,...",
        help="what each new key's paper account starts with (default USD=100000,BTC=2,ETH=20,SOL=200)",
    )
    sim.add_argument(
        "--db", type=Path, metavar="FILE", help="keep the paper account in this SQLite file across restarts"
    )
    sim.add_argument("--control", action="store_true", help="mount the /sim fault-injection endpoint")
    sim.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when stdin closes (how the console runs its embedded venue)",
    )
    sim.add_argument("--checksum", action="store_true", help="add a CRC32 of the top 25 levels to level2 events")
    sim.add_argument(
        "--tls",
        action="store_true",
        help="serve https/wss with a self-signed certificate kept in the data directory",
    )
    sim.add_argument(
        "--recording",
        type=Path,
        metavar="FILE",
        help="trade against a Coinbase recording instead of the synthetic market: its book, its "
        "trades, at its own pace (the products are the recording's; see docs/recording.md)",
    )
    sim.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="with --recording: play it this many times faster than it was recorded (default 1)",
    )
    sim.add_argument(
        "--rate-limit",
        type=float,
        default=30.0,
        metavar="PER_SECOND",
        help="private REST requests a second per key before 429 (default 30, 0 = unlimited)",
    )
    keygen = commands.add_parser(
        "keygen",
        help="write a new API key file (mode 0600): CDP-format, or Binance's with --binance",
        description="Write a new API key file readable only by you. A CDP key file holds the "
        "private key; the paper venue registers its public half. A Binance key file (--binance) "
        "holds an API key and an HMAC secret, or an Ed25519 private key (--ed25519).",
    )
    keygen.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the key")
    keygen.add_argument("--ed25519", action="store_true", help="an Ed25519 key instead of EC P-256 (or HMAC)")
    keygen.add_argument("--binance", action="store_true", help="a Binance Spot key for the paper venue")
    headless = commands.add_parser(
        "headless",
        help="run the engine without a UI: events as JSON lines on stdout, commands on stdin",
        description="Run the trading engine without a UI. Every event is printed as one JSON object "
        "per line; commands are read from stdin, one JSON object per line, e.g. "
        '{"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "0.01", '
        '"price": "50000"}. With no --ws-url an embedded paper venue is started with a generated key.',
    )
    # The same settings as the console's (defaults < config file < CRYPTOJ_* < flags); these flags
    # may also come after `headless`, where they win over the same flags given before it.
    headless.add_argument(
        "--venue", dest="headless_venue", choices=["paper", "coinbase", "binance"], help=HELP["venue"]
    )
    headless.add_argument("--ws-url", dest="headless_ws_url", metavar="URL", help=HELP["ws_url"])
    headless.add_argument("--rest-url", dest="headless_rest_url", metavar="URL", help=HELP["rest_url"])
    headless.add_argument("--key-file", dest="headless_key_file", metavar="FILE", help=HELP["key_file"])
    headless.add_argument(
        "--journal",
        dest="headless_journal",
        metavar="FILE",
        help="order journal (SQLite) for an external venue (default: the platform data dir)",
    )
    headless.add_argument("--seed", dest="headless_seed", metavar="SEED", help=HELP["seed"])
    headless.add_argument(
        "--product",
        dest="headless_products",
        action="append",
        default=[],
        metavar="ID",
        help="subscribe at start (repeatable; default: the product setting, if one is set)",
    )
    headless.add_argument(
        "--stay", action="store_true", help="keep running after the end of stdin (until interrupted), printing events"
    )
    replay = commands.add_parser(
        "replay",
        help="play a recording back through the engine",
        description="Play a recording (`cryptoj --record FILE`, a bare capture of Coinbase frames, or "
        "a cryptofeed raw-data capture such as shared/'s Binance session) through the engine over a "
        "loopback venue that speaks the recording's protocol (Coinbase or Binance, from the file). "
        "With --headless, as fast as it goes, then one JSON line per product with its final book "
        "(top 50 levels).",
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="the recording (.jsonl.gz, .jsonl, or EXCHANGE.ws.N.M)")
    replay.add_argument("--headless", action="store_true", help="no console: print the final books as JSON lines")
    replay.add_argument(
        "--venue",
        dest="replay_venue",
        choices=("coinbase", "binance"),
        help="the venue the recording was made on (default: what the file says; given, it is checked)",
    )
    replay.add_argument(
        "--paper",
        action="store_true",
        help="trade on the recording: the console on a paper venue whose market is the recording "
        "(fills against recorded liquidity in price-time priority; Coinbase recordings)",
    )
    replay.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="with --paper: play the market this many times faster"
    )
    replay.add_argument(
        "--product",
        dest="replay_products",
        action="append",
        default=[],
        metavar="ID",
        help="only this product (repeatable; default: every product with a book in the recording)",
    )
    return parser


def run_replay(args: argparse.Namespace) -> int:
    """`cryptoj replay FILE --headless`: the final books, one JSON line per product."""
    import json

    from cryptoj_tui.engine.recording import RecordingError
    from cryptoj_tui.replay.headless import replay_books

    if not venue_matches(args):
        return EXIT_USAGE
    if not args.headless:
        return run_replay_console(args)
    try:
        lines = asyncio.run(replay_books(args.file, [p.upper() for p in args.replay_products] or None))
    except RecordingError as exc:
        print(f"cryptoj replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 1
    for line in lines:
        print(json.dumps(line, separators=(",", ":")))
    return 0 if all("error" not in line for line in lines) else 1


def venue_matches(args: argparse.Namespace) -> bool:
    """True unless `--venue` names another venue than the recording's (said in one line)."""
    from cryptoj_tui.engine.recording import RecordingError
    from cryptoj_tui.replay.headless import recorded_venue

    if args.replay_venue is None:
        return True
    try:
        venue = recorded_venue(args.file)
    except RecordingError:
        return True  # the replay itself says what is wrong with the file
    if venue != args.replay_venue:
        print(f"cryptoj replay: {args.file} is a {venue} recording, not {args.replay_venue}", file=sys.stderr)
        return False
    return True


def run_replay_console(args: argparse.Namespace) -> int:
    """`cryptoj replay FILE`: the console on a recording, playing at 1x, trading off."""
    from cryptoj_tui.app import ReplayConsole
    from cryptoj_tui.engine.recording import RecordingError
    from cryptoj_tui.replay.binance import BinanceReplayPlayer, product_of, recorded_symbols
    from cryptoj_tui.replay.headless import recorded_venue, replay_config
    from cryptoj_tui.replay.player import PacedPlayer, PlayerThread, RecordingIndex, ReplayPlayer

    try:
        venue = recorded_venue(args.file)
        index = RecordingIndex(args.file)
    except RecordingError as exc:
        print(f"cryptoj replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    player_class: Callable[[RecordingIndex], PacedPlayer] = ReplayPlayer
    recorded = sorted(index.snapshots)
    if venue == "binance":
        player_class = BinanceReplayPlayer
        recorded = [product_of(symbol) for symbol in recorded_symbols(args.file)]
    products = [p.upper() for p in args.replay_products] or recorded
    if not products:
        print(f"cryptoj replay: {args.file} holds no book to start from (no snapshot)", file=sys.stderr)
        index.close()
        return EXIT_USAGE
    player = PlayerThread(lambda: player_class(index))
    try:
        url = player.start()
        config = replay_config(url)
        if isinstance(player.player, BinanceReplayPlayer):
            config = replay_config(url, venue="binance", rest_url=player.player.rest_url)
        app = ReplayConsole(config, products[0], venue=f"recording {args.file.name}", replay=player)
        app.run()
        if app.error:
            print(f"cryptoj replay: {app.error}", file=sys.stderr)
        return app.return_code or 0
    finally:
        player.stop()
        index.close()


def run_paper_replay(args: argparse.Namespace, settings: Settings) -> int:
    """`cryptoj replay FILE --paper`: the trading console on a paper venue playing the recording."""
    from cryptoj_tui.app import CryptojApp
    from cryptoj_tui.cdp_keys import generate_key
    from cryptoj_tui.engine import EngineConfig
    from cryptoj_tui.engine.recording import RecordingError
    from cryptoj_tui.replay.paper import RecordedFrames
    from cryptoj_tui.sim.process import VenueProcess, VenueProcessError

    if args.headless:
        print("cryptoj replay: --paper opens the console; drop --headless", file=sys.stderr)
        return EXIT_USAGE
    if not venue_matches(args):
        return EXIT_USAGE
    try:
        products = RecordedFrames(args.file).market(args.speed).products  # refused here, in one line
    except (RecordingError, ValueError) as exc:
        print(f"cryptoj replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    wanted = [p.upper() for p in args.replay_products] or products
    setup_logging(settings.log_file)
    key = generate_key()
    extra = ("--recording", str(args.file), "--speed", str(args.speed))
    try:
        venue_process = VenueProcess(key, log_path=settings.log_file, extra_args=extra).start()
    except VenueProcessError as exc:
        print(f"cryptoj replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = EngineConfig(
            ws_url=venue_process.ws_url, key=key, stale_after=settings.stale_after, limits=settings.risk
        )
        app = CryptojApp(
            config,
            wanted[0],
            venue=f"paper on {args.file.name}",
            embedded_venue=True,
            keymap=dict(settings.keys),
            default_size=settings.order_size,
            theme=settings.theme,
            fill_bell=settings.fill_bell,
            watch=settings.products,
        )
        app.run()
        if app.error:
            print(f"cryptoj replay: {app.error}", file=sys.stderr)
        return app.return_code or 0
    finally:
        venue_process.stop()


def start_paper_venue(seed: int, log_path: Path | None = None, *, protocol: str = "coinbase") -> tuple[Any, Any]:
    """An embedded paper venue in a child process speaking `protocol`, and a fresh API key it
    accepts (a CDP key for Coinbase's protocol, an Ed25519 Binance key for Binance's)."""
    from cryptoj_tui import binance_keys, cdp_keys
    from cryptoj_tui.sim.process import VenueProcess

    key = binance_keys.generate_key(ed25519_key=True) if protocol == "binance" else cdp_keys.generate_key()
    return VenueProcess(key, seed=seed, log_path=log_path).start(), key


def engine_config(settings: Settings, log_path: Path | None = None, record: Path | None = None) -> tuple[Any, Any, str]:
    """(EngineConfig, the embedded venue's process or None, the venue's name) from the settings:
    one path for the console and headless. A bad key or URL raises (KeyFileError, ValueError)."""
    from cryptoj_tui.engine import EngineConfig

    endpoints = settings.endpoints()
    protocol = settings.protocol
    if endpoints is None:
        venue_process, key = start_paper_venue(settings.seed, log_path, protocol=protocol)
        base = venue_process.ws_url  # ws://host:port: the venue serves every path on it
        config = EngineConfig(
            ws_url=f"{base}/stream" if protocol == "binance" else base,
            venue=protocol,
            rest_url="http" + base.removeprefix("ws") if protocol == "binance" else None,
            key=key,
            stale_after=settings.stale_after,
            max_frame_bytes=settings.max_frame_bytes,
            limits=settings.risk,
            record_path=record,
        )
        return config, venue_process, "paper (embedded)" if protocol == "coinbase" else "paper Binance (embedded)"
    ws_url, rest_url, user_ws_url = endpoints
    config = EngineConfig(
        ws_url=ws_url,
        venue=protocol,
        rest_url=rest_url,
        user_ws_url=user_ws_url,
        key_file=settings.key_file,
        journal_path=settings.journal_path(),
        stale_after=settings.stale_after,
        intent_sync_window=settings.intent_sync_window,
        max_frame_bytes=settings.max_frame_bytes,
        limits=settings.risk,
        record_path=record,
    )
    config.trading_config()  # a bad key is reported now, in one line
    return config, None, ws_url


def run_headless(settings: Settings, products: list[str], *, stay: bool, record: Path | None = None) -> int:
    """`cryptoj headless`: the engine on stdin/stdout; every way it cannot start is one line."""
    from cryptoj_tui import headless
    from cryptoj_tui.cdp_keys import KeyFileError
    from cryptoj_tui.engine import EngineStartError
    from cryptoj_tui.engine.journal import JournalError
    from cryptoj_tui.sim.process import VenueProcessError

    venue_process = None
    try:
        config, venue_process, _ = engine_config(settings, record=record)
        return asyncio.run(headless.main(config, products, stay=stay))
    except (KeyFileError, ValueError, VenueProcessError, EngineStartError, JournalError) as exc:
        print(f"cryptoj headless: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0
    finally:
        if venue_process is not None:
            venue_process.stop()


def run_keygen(args: argparse.Namespace) -> int:
    """Write a new key file; print its name and path, never the key."""
    from cryptoj_tui import binance_keys
    from cryptoj_tui.cdp_keys import KeyFileError, generate_key, write_key_file

    write: Callable[[], None]
    if args.binance:
        binance_key = binance_keys.generate_key(ed25519_key=args.ed25519)
        write = partial(binance_keys.write_key_file, args.out, binance_key)
        what = f"Binance {binance_key.kind} key {binance_key.api_key[:8]}…"  # the API key is half the secret
    else:
        key = generate_key(ed25519_key=args.ed25519)
        write = partial(write_key_file, args.out, key)
        what = f"{key.algorithm} key {key.name}"
    try:
        write()
    except (KeyFileError, binance_keys.BinanceKeyError) as exc:
        print(f"cryptoj keygen: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cryptoj keygen: {args.out}: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {what} to {args.out} (readable by you only)")
    return 0


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the first and each after a rollover) is made 0600."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(path: Path) -> None:
    """Log to a file, readable by its owner only (it names orders and the venue): the console
    owns the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.chmod(path, 0o600)  # one made before, by others' rules
    handler = PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of every job


def run_console(settings: Settings, config_file: Path | None = None, record: Path | None = None) -> int:
    """Start the venue if none is configured, then the console; shut everything down after.

    Everything that can be wrong with the settings is found before the terminal is taken: the
    keymap, the key file, the URLs. What the engine finds on starting (the venue refusing the
    key, a damaged journal) ends the console with one line after the terminal is back.
    """
    from cryptoj_tui.app import CryptojApp, check_keymap
    from cryptoj_tui.cdp_keys import KeyFileError
    from cryptoj_tui.sim.process import VenueProcessError

    try:
        check_keymap(dict(settings.keys))
    except ValueError as exc:
        print(f"cryptoj: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_file)
    try:
        config, venue_process, venue = engine_config(settings, settings.log_file, record)
    except (KeyFileError, ValueError, VenueProcessError) as exc:
        print(f"cryptoj: {exc}", file=sys.stderr)
        return EXIT_USAGE
    log = logging.getLogger("cryptoj")
    log.info("console starting: %s on %s", settings.product, venue)

    def keep_theme(theme: str) -> None:
        try:
            save_setting(config_file, "theme", theme)
        except ConfigError as exc:
            log.warning("the theme is not kept: %s", exc)

    try:
        app = CryptojApp(
            config,
            settings.product,
            venue=venue,
            embedded_venue=venue_process is not None,
            keymap=dict(settings.keys),
            default_size=settings.order_size,
            theme=settings.theme,
            fill_bell=settings.fill_bell,
            watch=settings.products,
            tune_gc=True,
            on_theme=keep_theme,
            watch_terminal=True,
        )
        app.run()
        log.info("console exited (return code %s)", app.return_code)
        if app.error:
            print(f"cryptoj: {app.error}", file=sys.stderr)
    finally:
        if venue_process is not None:
            venue_process.stop()
    return app.return_code or 0


def parse_balances(text: str) -> tuple[tuple[str, Decimal], ...]:
    """`USD=100000,BTC=2` -> ((USD, 100000), (BTC, 2)); ValueError names the bad part."""
    balances = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        currency, sep, amount = part.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = None
        if not sep or value is None:
            raise ValueError(f"--balances: {part!r} is not CURRENCY=AMOUNT")
        balances.append((currency.strip().upper(), value))
    return tuple(balances)


def run_sim(args: argparse.Namespace) -> int:
    """Serve the paper venue in the foreground until SIGINT or SIGTERM."""
    from cryptoj_tui.binance_keys import BinanceKeyError
    from cryptoj_tui.cdp_keys import KeyFileError
    from cryptoj_tui.sim.store import StoreError
    from cryptoj_tui.sim.venue import PaperVenue, VenueConfig

    products = tuple(p.strip().upper() for p in args.products.split(",") if p.strip())
    market = None
    try:
        if args.recording is not None:
            from cryptoj_tui.engine.recording import RecordingError
            from cryptoj_tui.replay.paper import RecordedFrames

            try:
                market = RecordedFrames(args.recording).market(args.speed)
            except RecordingError as exc:
                raise ValueError(str(exc)) from exc
            products = tuple(market.products)
        balances = parse_balances(args.balances)
        config = VenueConfig(
            host=args.host,
            port=args.port,
            seed=args.sim_seed,
            products=products,
            step_interval=args.step_interval,
            api_key_files=tuple(args.api_key_file),
            protocols=("coinbase", "binance") if args.protocol == "both" else (args.protocol,),
            binance_key_files=tuple(args.binance_key_file),
            binance_weight_limit=args.binance_weight_limit,
            binance_order_limit=args.binance_order_limit,
            rate_limit=args.rate_limit,
            control=args.control,
            checksum=args.checksum,
            db=args.db,
            starting_balances=balances,
            tls_dir=platformdirs.user_data_path("cryptoj") / "tls" if args.tls else None,
        )
        venue = PaperVenue(config, market=market)
    except (ValueError, KeyFileError, BinanceKeyError, StoreError) as exc:
        print(f"cryptoj sim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.exit_with_parent:  # the parent holds our stdin: end of file means it is gone

            def parent_gone() -> None:
                if not os.read(sys.stdin.fileno(), 4096):
                    stop.set()

            loop.add_reader(sys.stdin.fileno(), parent_gone)
        async with venue:
            market_text = f"recording {args.recording} at {args.speed:g}x" if market else f"seed {config.seed}"
            keys = len(venue.keys) + (len(venue.binance.keys) if venue.binance is not None else 0)
            print(
                f"paper venue listing {', '.join(products)} ({market_text}, {keys} API keys, "
                f"{' and '.join(config.protocols)} protocol)",
                flush=True,
            )
            print(f"rest: {venue.rest_url}", flush=True)
            if venue.binance is not None:
                print(f"binance streams: {venue.ws_url}/stream", flush=True)
                print(f"binance websocket api: {venue.ws_url}/ws-api/v3", flush=True)
            print(f"websocket: {venue.ws_url}", flush=True)
            if venue.cert_path is not None:
                print(f"certificate: {venue.cert_path}", flush=True)
            await stop.wait()

    try:
        asyncio.run(serve())
    except OSError as exc:
        print(f"cryptoj sim: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


SETTING_FLAGS = (
    "product",
    "products",
    "ws_url",
    "seed",
    "stale_after",
    "log_file",
    "venue",
    "rest_url",
    "user_ws_url",
    "key_file",
    "journal",
    "intent_sync_window",
    "max_frame_bytes",
    "order_size",
    "theme",
)
"""The top-level flags that are settings (`--ws-url` is `ws_url`)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cryptoj` script."""
    args = build_parser().parse_args(argv)
    if args.command == "sim":
        return run_sim(args)
    if args.command == "keygen":
        return run_keygen(args)
    if args.command == "replay" and not args.paper:
        return run_replay(args)
    flags: dict[str, object] = {name: getattr(args, name) for name in SETTING_FLAGS}
    if args.command == "headless":  # its own flags win over the same ones given before it
        for name in ("venue", "ws_url", "rest_url", "key_file", "journal", "seed"):
            value = getattr(args, f"headless_{name}")
            if value is not None:
                flags[name] = value
    try:
        settings = load_settings(cli=flags, config_file=args.config)
    except ConfigError as exc:
        print(f"cryptoj: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "headless":
        products = [p.upper() for p in args.headless_products]
        if not products and "product" in settings.given:
            products = [settings.product]
        return run_headless(settings, products, stay=args.stay, record=args.record)
    if args.command == "replay":
        return run_paper_replay(args, settings)
    return run_console(settings, args.config, args.record)
