"""The rule every venue's key file follows: a key file anyone but its owner can read or write is
refused (a leaked trading key is not a warning)."""

from __future__ import annotations

import stat
from pathlib import Path


def private_file_problem(path: Path) -> str | None:
    """Why `path` may not hold a key (it cannot be read, or others can read or write it), or None."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror}"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path}: readable or writable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
    return None
