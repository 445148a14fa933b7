"""Environments perfkit builds for a target from a requirements file or a pyproject.toml.

``--env LABEL=FILE`` gives a target a virtualenv of its own holding what FILE lists: a
requirements file (``pip freeze`` / ``uv pip compile`` output is a lock) or a
pyproject.toml (its ``[project] dependencies``; the target's code itself is not installed,
workers import it from the target's path). The environment is cached under
``data/envs/<hash>/``, the hash of the file's bytes and of the base interpreter, and
re-used while both are unchanged. It is built in place under a file lock and marked
complete at the end, so a concurrent run waits for it and a build cut short is redone.

The tool: uv (the ``envs`` extra, a binary in its PyPI wheel) when installed, else the
standard library's venv and perfkit's own pip (``pip --python``), nothing installed into
the new environment but what FILE asks for. A failed build stops with one line naming
FILE and the tool's last words; its full output stays in ``data/envs/<hash>.log``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from perfkit.collect.shipping import ENV_CACHE
from perfkit.errors import TargetError

COMPLETE_MARKER = ".perfkit-complete"
BUILD_TIMEOUT_SECONDS = 900.0


def uv_binary() -> str | None:
    """uv's executable when the ``envs`` extra (or uv on PATH) provides one."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def requirements_of(file: Path) -> tuple[list[str], bytes]:
    """Requirement lines and the bytes that key the cache: a pyproject.toml's dependencies,
    or a requirements file as it is."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise TargetError(f"cannot read environment file {file}: {exc.strerror}") from None
    if file.suffix != ".toml":
        lines = data.decode("utf-8", errors="replace").splitlines()
        listed = any(line.strip() and not line.lstrip().startswith("#") for line in lines)
        return (["-r", str(file)] if listed else []), data
    try:
        project = tomllib.loads(data.decode("utf-8")).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetError(f"{file}: not valid TOML ({exc})") from None
    deps = project.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise TargetError(f"{file}: [project] dependencies must be a list of strings")
    return list(deps), "\n".join(deps).encode()


def _key(content: bytes, base_python: str) -> str:
    h = hashlib.sha256(content)
    h.update(b"\0" + str(Path(base_python).resolve()).encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing) for the block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _commands(tool: str | None, base_python: str, env: Path, reqs: list[str]) -> list[list[str]]:
    python = str(env / "bin" / "python")
    if tool:
        create = [tool, "venv", "--quiet", "--python", base_python, str(env)]
        install = [tool, "pip", "install", "--quiet", "--python", python, *reqs]
    else:
        create = [base_python, "-m", "venv", "--without-pip", str(env)]
        install = [sys.executable, "-m", "pip", "--python", python, "install"]
        install += ["--quiet", "--disable-pip-version-check", *reqs]
    return [create] if not reqs else [create, install]


def _run(cmd: list[str], log: Path, file: Path) -> None:
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        try:
            done = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"environment from {file}: {cmd[0]} failed: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise TargetError(f"environment from {file} failed ({last[:160]}); see {log}")


def build_env(file: str | Path, base_python: str | None = None, cache: Path = ENV_CACHE) -> Path:
    """The python executable of the environment for `file` (built once, then re-used)."""
    file = Path(file).expanduser()
    if not file.is_file():
        raise TargetError(f"environment file {file} not found")
    base_python = base_python or sys.executable
    reqs, content = requirements_of(file.absolute())
    cache = Path(cache).resolve()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(f"cannot create {cache}: {exc.strerror}") from None
    key = _key(content, base_python)
    env = cache / key
    python = env / "bin" / "python"
    with file_lock(cache / f"{key}.lock"):
        if (env / COMPLETE_MARKER).is_file() and python.exists():
            return python
        shutil.rmtree(env, ignore_errors=True)  # a build cut short: start over
        log = cache / f"{key}.log"
        log.write_text(f"# environment for {file.absolute()}\n")
        for cmd in _commands(uv_binary(), base_python, env, reqs):
            _run(cmd, log, file)
        (env / COMPLETE_MARKER).write_text(f"{file.absolute()}\n")
    return python
