"""The results window (Qt): a table of match results, a text filter and a status line.

Rows are result dicts (`MatchResult.to_row()` or a results CSV read with csv.DictReader).
The filter ignores case and accents and looks at artist, title, mix, matched artists and
label. This version filters with a QSortFilterProxyModel over the key each row carries:
the table's rows are built once per set of results, never per keystroke, in a fresh model
that nothing watches yet, handed to the proxy in one reset; the table is read-only through
its view (no edit triggers), not through a flag set on every cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from trackmatch.text import fold

Row = Mapping[str, Any]

# (result column, header, width in pixels)
COLUMNS = (
    ("artist", "Artist", 170),
    ("title", "Title", 230),
    ("mix", "Mix", 120),
    ("key", "Key", 50),
    ("bpm", "BPM", 60),
    ("label", "Label", 140),
    ("genre", "Genre", 150),
    ("score", "Score", 60),
)
SEARCH_COLUMNS = ("artist", "title", "mix", "matched_artists", "label")
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
WINDOW_SIZE = (1040, 640)


def search_key(row: Row) -> str:
    """What the filter looks in: the row's searchable text, folded."""
    return fold(" ".join(str(row.get(column) or "") for column in SEARCH_COLUMNS))


def results_model(rows: Iterable[Row], parent: QWidget) -> QStandardItemModel:
    """A table model of the rows, filled before any view or proxy is attached to it."""
    model = QStandardItemModel(0, len(COLUMNS), parent)
    model.setHorizontalHeaderLabels([header for _, header, _ in COLUMNS])
    for row in rows:
        model.appendRow(row_items(row))
    return model


def row_items(row: Row) -> list[QStandardItem]:
    """One table row; the first cell also carries the row's search key. The view is what
    is read-only (no edit triggers): a setEditable call per cell cost more than the cell."""
    items = [QStandardItem(str(row.get(column) or "")) for column, _, _ in COLUMNS]
    items[0].setData(search_key(row), SEARCH_ROLE)
    return items


class ResultsWindow(QWidget):
    """Match results in a table, with a filter box above and a status line below."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        super().__init__()
        self.setWindowTitle("trackmatch results")
        self.resize(*WINDOW_SIZE)
        self.filter_box = QLineEdit(placeholderText="Filter: artist, title, mix, label")
        self.model = results_model((), self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.horizontalHeader().setStretchLastSection(True)
        for index, (_, _, width) in enumerate(COLUMNS):
            self.view.setColumnWidth(index, width)
        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.view)
        layout.addWidget(self.status)
        self._rows: list[Row] = []
        self.filter_box.textChanged.connect(self._filter_changed)
        self.show_results(rows)

    def show_results(self, rows: Iterable[Row]) -> None:
        """Replace the results (a new playlist's); the current filter stays applied."""
        self._rows = list(rows)
        old, self.model = self.model, results_model(self._rows, self)
        self.proxy.setSourceModel(self.model)  # one reset of the proxy and the view
        # Free the detached model now: deleteLater waits for the event loop's deferred
        # deletes, which a busy UI (or processEvents) does not run, so models piled up.
        old.setParent(None)
        del old
        self._update_status()

    def visible_rows(self) -> int:
        """Rows the table shows now (after filtering)."""
        return self.view.model().rowCount()

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(fold(text))
        self._update_status()

    def _update_status(self) -> None:
        shown, total = self.visible_rows(), len(self._rows)
        text = self.filter_box.text()
        if text:
            self.status.setText(f"{shown:,} of {total:,} results match '{text}'")
        else:
            self.status.setText(f"{total:,} results")
