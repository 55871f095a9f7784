"""Binance's error answers: an HTTP status and a `{"code", "msg"}` body with Binance's own words."""

from __future__ import annotations

from aiohttp import web


class BinanceApiError(Exception):
    """A request Binance would refuse: its HTTP status, Binance's code and message."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    def response(self, extra_headers: dict[str, str] | None = None) -> web.Response:
        """The error as Binance answers it."""
        headers = {**self.headers, **(extra_headers or {})}
        return web.json_response({"code": self.code, "msg": self.msg}, status=self.status, headers=headers)


def mandatory(name: str) -> BinanceApiError:
    """-1102: a required parameter is missing."""
    return BinanceApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def not_required(name: str) -> BinanceApiError:
    """-1106: a parameter this request does not take."""
    return BinanceApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def illegal(name: str) -> BinanceApiError:
    """-1100: a parameter whose characters are not a number (or not the legal ones)."""
    legal = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
    return BinanceApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def too_precise(name: str) -> BinanceApiError:
    """-1111: a number with more decimal places than the symbol's precision allows."""
    return BinanceApiError(400, -1111, f"Parameter '{name}' has too much precision.")


def filter_failure(name: str) -> BinanceApiError:
    """-1013: an order outside one of the symbol's filters."""
    return BinanceApiError(400, -1013, f"Filter failure: {name}")


def rejected(msg: str) -> BinanceApiError:
    """-2010: the matching engine refused the new order."""
    return BinanceApiError(400, -2010, msg)


INVALID_SYMBOL = BinanceApiError(400, -1121, "Invalid symbol.")
UNKNOWN_ORDER = BinanceApiError(400, -2011, "Unknown order sent.")
NO_SUCH_ORDER = BinanceApiError(400, -2013, "Order does not exist.")
BAD_SIGNATURE = BinanceApiError(400, -1022, "Signature for this request is not valid.")
BAD_API_KEY_FORMAT = BinanceApiError(401, -2014, "API-key format invalid.")
REFUSED_API_KEY = BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
OUTSIDE_RECV_WINDOW = BinanceApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
