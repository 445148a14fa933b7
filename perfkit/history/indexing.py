"""Index a finished run into the history store: at once, or in a forked child meanwhile.

`index_now` indexes in this process. `start_indexing` forks a child that indexes while the
caller goes on (``perfkit run`` prints its summary meanwhile; the child imports SQLAlchemy,
neither needs scipy.stats), and `PendingIndex.wait` reaps it. Either way a failure never fails the run (the run directory is the source of truth):
it comes back as one line saying why, which the caller prints. Without `os.fork` the
indexing happens in `start_indexing` itself.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
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
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered is written twice
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: index, say why it failed if it did, and end without cleanup
        code = 0
        try:
            os.close(read_fd)
            message = index_now(path, db)
            if message:
                os.write(write_fd, message.encode("utf-8", "replace")[:MAX_MESSAGE_BYTES])
        except BaseException:  # Ctrl-C or anything: the parent says the status
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return PendingIndex(pid=pid, read_fd=read_fd)
