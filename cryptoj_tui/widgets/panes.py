"""Containers that are background alone, for the trading screen's layout.

Textual renders a container's area cell by cell like any widget's whenever it is repainted
whole (its screen shown again, a dialog closed over it); one that has no border and whose
background is opaque can be drawn as blank strips (`BLANK`), which costs nothing.
"""

from __future__ import annotations

from textual.containers import Container, Horizontal, Vertical


class BlankContainer(Container):
    """A Container drawn as its background only."""

    BLANK = True


class BlankHorizontal(Horizontal):
    """A Horizontal drawn as its background only."""

    BLANK = True


class BlankVertical(Vertical):
    """A Vertical drawn as its background only."""

    BLANK = True
