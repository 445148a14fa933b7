"""Drives trackmatch's results window for the demo suite and the tests, offscreen.

A UI call that returns has only queued its work: the view repaints later, from the event
loop. So every wait here processes events until the table's viewport has *painted* after
the action (and, where given, until the view shows what it should). It owns the one
QApplication of a process (offscreen unless ``QT_QPA_PLATFORM`` says otherwise) and
knows nothing of perfkit's timing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QtMsgType, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

PLATFORM_ENV = "QT_QPA_PLATFORM"
TIMEOUT_SECONDS = 10.0
# The offscreen platform warns on every shown window that it cannot pass size hints on.
_QUIET = ("propagateSizeHints",)


def _forward(kind: QtMsgType, context: Any, message: str) -> None:
    if not any(part in message for part in _QUIET):
        print(message, file=sys.stderr)


def application() -> QApplication:
    """The process's QApplication, created offscreen the first time."""
    os.environ.setdefault(PLATFORM_ENV, "offscreen")
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_forward)
        app = QApplication([sys.argv[0] if sys.argv else "trackmatch"])
    assert isinstance(app, QApplication)
    return app


class PaintCounter(QObject):
    """Counts the paint events a widget has handled (an event filter; it changes nothing)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False

    def wait(
        self,
        since: int,
        shows: Callable[[], bool] | None = None,
        what: str = "repaint",
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        """Process events until a paint after `since` happened and `shows()` holds."""
        app = application()
        deadline = time.perf_counter() + timeout_seconds
        while self.count <= since or (shows is not None and not shows()):
            app.processEvents()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the results view did not {what} within {timeout_seconds:g} s")


def view_paints(window: Any) -> PaintCounter:
    """A paint counter on the window's table (``window.view``'s viewport)."""
    return PaintCounter(window.view.viewport())


def show(window: Any) -> PaintCounter:
    """Show the window and return once its table has painted for the first time."""
    paints = view_paints(window)
    window.show()
    paints.wait(0, what="paint after show()")
    return paints


def close(window: QWidget) -> None:
    """Close the window and destroy it now, not at some later turn of the event loop."""
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def type_text(box: QLineEdit, text: str) -> None:
    """Replace the box's text the way a user does: select all, then type key by key."""
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
