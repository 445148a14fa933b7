"""One Ctrl-C flag for a whole bisection, so that no Ctrl-C is lost between its runs.

A bisection is many `perfkit.collect.scheduler.run_suite` calls, each with its own stop
flag and its own SIGINT/SIGTERM handler (`perfkit.collect.supervisor.stop_on_signals`)
that lives only as long as that run. Two windows used to lose a Ctrl-C: a signal that
lands after a run's last look at its flag (while run.json is written, or pending until
the run restores the handlers) only set the flag of a run that was already over, so the
run ended `complete` and the bisection went on; and outside runs the default handler
threw KeyboardInterrupt into whatever bookkeeping was going on.

`Interrupts` closes both: from before the first comparison to the end it is the handler
outside runs (it only sets its flag), and `requested` also counts the signals runs
received (`perfkit.collect.supervisor.stop_signals`). The bisection calls `check`
before and after every run; a Ctrl-C is honoured at the next of those points, at worst
one run later (a signal that arrives between the check and the run's own handler).
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType

from perfkit.collect.supervisor import stop_signals

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """Context manager: Ctrl-C and SIGTERM set one flag for the whole bisection."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._runs_seen = stop_signals()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupts:
        self._runs_seen = stop_signals()
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous = {}

    def _handle(self, signum: int, frame: object) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        """Ctrl-C or SIGTERM arrived, to this flag or to any run since `__enter__`."""
        return self._event.is_set() or stop_signals() != self._runs_seen

    def check(self) -> None:
        """Raise KeyboardInterrupt (the bisection's way to stop) if a stop was asked for."""
        if self.requested:
            raise KeyboardInterrupt
