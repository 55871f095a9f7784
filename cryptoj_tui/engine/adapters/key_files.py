"""Where every venue's API key comes from, and the rule its file follows.

A key comes from a key file given (`--key-file`), else the file an environment variable names,
else a pair of environment variables holding the key itself; none of them is no key (market
data needs none). A key file anyone but its owner can read or write is refused: a leaked
trading key is not a warning.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

K = TypeVar("K")


def private_file_problem(path: Path) -> str | None:
    """Why `path` may not hold a key (it cannot be read, or others can read or write it), or None."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror}"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path}: readable or writable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
    return None


def load_private(path: Path, read: Callable[[Path], K], error: type[ValueError]) -> K:
    """`read(path)` of a key file only its owner can read; `error` says why not."""
    problem = private_file_problem(path)
    if problem is not None:
        raise error(problem)
    return read(path)


def find_key(
    key_file: Path | None,
    env: Mapping[str, str] | None,
    *,
    file_variable: str,
    pair: tuple[str, str],
    load_file: Callable[[Path], K],
    from_pair: Callable[[str, str], K],
    error: type[ValueError],
) -> K | None:
    """The key from `key_file`, else the file `file_variable` names, else the two variables of
    `pair`; None when none is given. `error` names a variable of the pair set without the other."""
    env = os.environ if env is None else env
    path = key_file or (Path(env[file_variable]) if env.get(file_variable) else None)
    if path is not None:
        return load_file(path)
    first, second = env.get(pair[0]), env.get(pair[1])
    if not first and not second:
        return None
    if not first or not second:
        missing = pair[0] if not first else pair[1]
        raise error(f"environment: {missing} is not set (both {pair[0]} and {pair[1]} are needed)")
    return from_pair(first, second)
