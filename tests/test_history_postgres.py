"""The history store on a real PostgreSQL server, started by this test module.

The server comes from Debian's ``postgresql`` package (``.ci/setup --test`` installs it
as root); it runs as the ``postgres`` user when the tests run as root (initdb refuses
root), listens on 127.0.0.1 only, and is stopped at the end of the module.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SUITES, perfkit_cli

pytest.importorskip("psycopg", reason="perfkit[postgres] not installed")


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="perfkit-pg-"))
    if os.geteuid() == 0:
        try:
            import pwd

            entry = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server as")
        os.chown(base, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "perfkit",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(base / "server.log"), "-w", "-t", "60", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://perfkit@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _run_args(runs: Path) -> list[str]:
    return [
        "-m", "perfkit", "run", str(SUITES / "basic_suite.py"), "--quick", "--workers", "3",
        "--only", "sum_range*", "--out", str(runs),
    ]  # fmt: skip


@pytest.mark.slow
def test_two_concurrent_runs_both_land_in_postgres(postgres_url: str, tmp_path: Path) -> None:
    import sys

    env = {**os.environ, "PERFKIT_DB": postgres_url}
    runs = tmp_path / "runs"
    procs = [
        subprocess.Popen(
            [sys.executable, *_run_args(runs)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outputs]
    assert all("history index not updated" not in err for _, err in outputs)
    assert not (tmp_path / "perfkit.sqlite").exists()  # the URL, not the default file

    shown = perfkit_cli("history", "sum_range", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr

    from perfkit.history.store import SCHEMA_VERSION, open_store

    with open_store(postgres_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        points = store.points()
    assert sorted(points["run_id"].unique()) == sorted(
        Path(out.strip().splitlines()[-1]).name for out, _ in outputs
    )
    assert len(points) == 4 and all(len(w) == 3 for w in points["worker_seconds"])

    # --reindex rebuilds the server's store from the run directories, same rows.
    again = perfkit_cli("history", "sum_range", "--reindex", "--runs-dir", str(runs), env=env)
    assert again.returncode == 0, again.stderr
    with open_store(postgres_url) as store:
        assert len(store.points()) == 4


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://perfkit@127.0.0.1:{_free_port()}/postgres"
    done = perfkit_cli("history", "x", "--db", url)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "history database postgresql://perfkit@127.0.0.1" in done.stderr
