"""Benchmarks that leave things behind or move the ground: children, threads, chdir.

Child processes run `sleep <PERFKIT_TEST_SLEEP>` (a value unique to the test) so the
test can tell whether any of them outlived the run.
"""

import os
import signal
import subprocess
import tempfile
import threading
import time

import perfkit

SLEEP = os.environ.get("PERFKIT_TEST_SLEEP", "75")


@perfkit.benchmark(timeout="1s")
def detached_child_then_hang():
    def body():
        subprocess.Popen(["sleep", SLEEP], start_new_session=True)
        time.sleep(3600)

    return body


@perfkit.benchmark()
def helper_child_in_setup():
    subprocess.Popen(["sleep", SLEEP])  # a local server, say, never stopped
    return lambda: sum(range(50))


@perfkit.benchmark()
def detached_helper_in_setup():
    subprocess.Popen(["sleep", SLEEP], start_new_session=True)
    return lambda: sum(range(50))


@perfkit.benchmark()
def thread_left_in_setup():
    threading.Thread(target=threading.Event().wait, name="poller", daemon=False).start()
    return lambda: sum(range(50))


@perfkit.benchmark()
def changes_directory():
    def body():
        os.chdir(tempfile.gettempdir())
        return sum(range(50))

    return body


@perfkit.benchmark()
def detached_child_then_hang_long():
    def body():
        subprocess.Popen(["sleep", SLEEP], start_new_session=True)
        time.sleep(3600)

    return body


@perfkit.benchmark()
def crash_exit():
    return lambda: os._exit(3)


@perfkit.benchmark()
def crash_sigkill():
    return lambda: os.kill(os.getpid(), signal.SIGKILL)


@perfkit.benchmark()
def crash_segfault():
    import ctypes

    return lambda: ctypes.string_at(0)


@perfkit.benchmark()
def sleeps_a_while():
    return lambda: time.sleep(0.01)


@perfkit.benchmark(params={"blob": ["x" * 1000]})
def wide_rows(blob):
    return lambda: len(blob)
