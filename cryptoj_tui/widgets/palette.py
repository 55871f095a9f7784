"""Named colours as the theme's own truecolours, for the Rich text our widgets draw.

Textual turns ANSI colours (`red`, `green`, `dim`...) into truecolour with a line filter run
over every line of every frame: about a quarter of a frame when the book and the tape move
every frame. Our widgets name their colours through `themed` instead, so nothing reaches the
screen in ANSI colours and the app runs without that filter (CryptojApp.get_line_filters).
"""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color

FOREGROUND = {
    "green": "text-success",
    "red": "text-error",
    "yellow": "text-warning",
    "cyan": "text-accent",
    "white": "foreground",
}
"""Text colours: the theme's readable variants."""
BACKGROUND = {"green": "success", "red": "error", "yellow": "warning", "cyan": "accent", "white": "foreground"}
DIM = 0.4
"""How far dim text moves from its colour toward the background."""

SEVERITY_STYLES = {"info": "", "warning": "yellow", "breach": "bold red", "halt": "bold white on red"}
"""How an alert of each severity is written (alerts feed, risk screen history)."""

_cache: dict[tuple[str, str], Style] = {}


def themed(app: App[object], spec: str) -> Style:
    """`spec` in Rich's words ("bold green", "dim", "bold white on red", "") as a Style of
    `app`'s theme, with truecolours only."""
    key = (app.theme, spec)
    style = _cache.get(key)
    if style is None:
        style = _cache[key] = _build(app.theme_variables, spec)
    return style


def _build(variables: dict[str, str], spec: str) -> Style:
    words = spec.split()
    background_words = words[words.index("on") + 1 :] if "on" in words else []
    words = words[: words.index("on")] if "on" in words else words
    colours = [w for w in words if w in FOREGROUND]
    colour = Color.parse(_variable(variables, FOREGROUND[colours[0]])) if colours else None
    background = Color.parse(_variable(variables, BACKGROUND[background_words[0]])) if background_words else None
    if "dim" in words:
        base = colour or Color.parse(_variable(variables, "foreground"))
        colour = base.blend(background or Color.parse(_variable(variables, "background")), DIM)
    return Style(
        color=colour.rich_color if colour else None,
        bgcolor=background.rich_color if background else None,
        bold="bold" in words or None,
        italic="italic" in words or None,
        underline="underline" in words or None,
        reverse="reverse" in words or None,
    )


def _variable(variables: dict[str, str], name: str) -> str:
    return variables.get(name) or variables.get(name.removeprefix("text-")) or "#ffffff"
