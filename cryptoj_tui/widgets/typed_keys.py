"""Acting on a priority key only after the keys typed before it.

A priority binding runs in the app's own message loop as soon as the app reads the key, while
the keys before it were forwarded to the focused widget's queue and may not be handled yet. In
a burst (a paste, a macro, a quick hand) `0.5` + enter would act on the field as it was before
the `0.5`. Queuing the action behind those keys keeps the order they were typed in.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode


def after_typed_keys(node: DOMNode, act: Callable[[], object]) -> None:
    """Run `act` once the focused widget has handled every key it was sent before this one."""
    focused = node.app.focused
    if focused is None or not focused.call_later(act):  # call_later is False once it stopped
        act()
