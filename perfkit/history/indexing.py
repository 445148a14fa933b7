"""Index a finished run into the history store: at once, or in a forked child meanwhile.

`index_now` indexes in this process. `start_indexing` forks a child that indexes while the
caller goes on (``perfkit run`` prints its summary meanwhile; the child imports SQLAlchemy,
neither needs scipy.stats), and `PendingIndex.wait` reaps it. Either way a failure never
fails the run (the run directory is the source of truth): it comes back as one line saying
why, which the caller prints. Without `os.fork` the indexing happens in `start_indexing`
itself. `fork_indexer` forks the child before the run starts instead, so that its imports
overlap the parent's start on the other core. Both fork through `_fork`.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_MESSAGE_BYTES = 4096
WAIT_SECONDS = 300.0  # a child that hangs (a lock held at fork) is killed, not waited on


def index_now(path: Path, db: str | None = None) -> str | None:
    """Index the run directory at `path`; returns None, or why the index was not updated."""
    try:
        from perfkit.history.store import index_run
        from perfkit.rundir import load_run

        index_run(load_run(path), db)
    except Exception as exc:  # the run directory is the source of truth
        return f"{type(exc).__name__}: {exc}"
    return None


@dataclass
class PendingIndex:
    """The indexing of one run, maybe still running in a child process."""

    pid: int | None = None
    read_fd: int | None = None
    message: str | None = None  # the failure, once known

    def wait(self, timeout: float = WAIT_SECONDS) -> str | None:
        """Wait for the child; returns None, or why the index was not updated."""
        if self.pid is None:
            return self.message
        pid, self.pid = self.pid, None
        assert self.read_fd is not None
        text, deadline = b"", time.monotonic() + timeout
        with os.fdopen(self.read_fd, "rb", buffering=0) as pipe:
            while (left := deadline - time.monotonic()) > 0:
                if select.select([pipe], [], [], left)[0]:
                    chunk = pipe.read(MAX_MESSAGE_BYTES)
                    if not chunk:  # the child ended
                        break
                    text += chunk
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.message = f"indexing took over {timeout:g} s and was stopped"
                return self.message
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if text:
            self.message = text.decode("utf-8", "replace")[:MAX_MESSAGE_BYTES]
        elif code != 0:
            self.message = f"the indexing process ended with status {code}"
        return self.message


def start_indexing(path: Path, db: str | None = None) -> PendingIndex:
    """Index the run at `path` in a forked child; `PendingIndex.wait` gives the outcome."""
    if not hasattr(os, "fork"):
        return PendingIndex(message=index_now(path, db))
    pid, read_fd = _fork(lambda write_fd: _index_and_say(path, db, write_fd))
    return PendingIndex(pid=pid, read_fd=read_fd)


def _fork(work: Callable[[int], None], ignore_stop_signals: bool = False) -> tuple[int, int]:
    """Fork a child that runs ``work(write_fd)`` and ends without cleanup (status 1 on any
    exception, Ctrl-C included: the parent says the status); returns (pid, read end of the
    child's message pipe). With `ignore_stop_signals` the child ignores SIGINT and SIGTERM,
    blocked over the fork so that none lands before its handlers are set."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered is written twice
    read_fd, write_fd = os.pipe()
    stop = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop) if ignore_stop_signals else None
    pid = -1
    try:
        pid = os.fork()
    finally:
        if pid != 0 and mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if pid == 0:
        code = 0
        try:
            if mask is not None:
                for signum in stop:
                    signal.signal(signum, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_fd)
            work(write_fd)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _index_and_say(path: Path, db: str | None, write_fd: int) -> None:
    message = index_now(path, db)
    if message:
        os.write(write_fd, message.encode("utf-8", "replace")[:MAX_MESSAGE_BYTES])


@dataclass
class IndexChild:
    """A child forked before a run starts (`fork_indexer`): it imports the history store
    (SQLAlchemy, the analysis) at once, on the core the parent's own start leaves idle, then
    sleeps until `index` names the finished run, or ends without indexing on `close`."""

    pid: int
    path_fd: int | None  # where the run's path is written; closed: go
    read_fd: int

    def index(self, path: Path) -> PendingIndex:
        """Index the run at `path`; `PendingIndex.wait` gives the outcome."""
        assert self.path_fd is not None, "an IndexChild indexes one run"
        fd, self.path_fd = self.path_fd, None
        try:
            os.write(fd, os.fsencode(path))  # far below PIPE_BUF: one atomic write
        except OSError:
            pass  # the child is gone: its status says so
        finally:
            os.close(fd)
        return PendingIndex(pid=self.pid, read_fd=self.read_fd)

    def close(self) -> None:
        """No run to index (it ended before its directory was written): the child is ended
        at once, even in the middle of its imports (it has written nothing)."""
        if self.path_fd is None:
            return
        os.close(self.path_fd)
        self.path_fd = None
        os.close(self.read_fd)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def fork_indexer(db: str | None = None) -> IndexChild | None:
    """Fork the child that will index this process's run (None without `os.fork`).

    Fork it early, before the parent's own heavy imports and before any thread starts: what
    the parent has imported by then the child shares; the rest (SQLAlchemy ~0.2 s) it imports
    while the parent starts the run. It ignores Ctrl-C and SIGTERM, also when they reach the
    whole process group (the parent stops the run and still indexes what it kept), and ends
    when the parent does (its pipe closes).
    """
    if not hasattr(os, "fork"):
        return None
    path_read, path_write = os.pipe()

    def work(write_fd: int) -> None:
        os.close(path_write)
        _preload()
        with os.fdopen(path_read, "rb") as pipe:
            path = pipe.read()
        if path:  # else the parent closed the pipe (or ended): nothing to index
            _index_and_say(Path(os.fsdecode(path)), db, write_fd)

    pid, read_fd = _fork(work, ignore_stop_signals=True)
    os.close(path_read)
    return IndexChild(pid=pid, path_fd=path_write, read_fd=read_fd)


def _preload() -> None:
    """What `index_now` imports, imported before the run ends (a failure shows there)."""
    try:
        import perfkit.analysis.stats
        import perfkit.history.store
        import perfkit.rundir.reader  # noqa: F401
    except Exception:
        pass
