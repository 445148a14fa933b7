"""The demo's catalogue search API: a real HTTP server on 127.0.0.1 over the generated catalogue.

`CatalogueServer` runs it as a child process (stdlib only) on an ephemeral port and stops it on `stop()`,
at interpreter exit, or when the parent dies (the child watches its stdin for EOF).
It answers token searches as a remote music catalogue would; it owns no matching logic.
"""

from __future__ import annotations

import argparse
import atexit
import heapq
import json
import marshal
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

if __package__:
    from perfkit.demo.datagen import fold
else:  # `CatalogueServer.command`: run as a script, with the standard library and
    # datagen.py beside it only
    from datagen import fold

HOST = "127.0.0.1"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
STARTUP_TIMEOUT_SECONDS = 30.0
INDEX_VERSION = 1
_TOKEN = re.compile(r"[a-z0-9]+")
# Words that nearly every record has: indexing them would make every search scan everything.
_STOPWORDS = frozenset(
    "a the of and feat ft featuring vs x mix original extended radio edit remix dub vip club".split()  # noqa: SIM905
)


def tokens(text: str) -> set[str]:
    """Searchable words of a text: accents folded, lower case, stopwords dropped."""
    return set(_TOKEN.findall(fold(text).lower())) - _STOPWORDS


class CatalogueIndex:
    """An inverted index over catalogue records; each record's JSON is encoded once."""

    def __init__(self, encoded: list[bytes], postings: dict[str, list[int]]) -> None:
        self._encoded = encoded
        self._postings = postings

    @classmethod
    def build(cls, records: list[dict[str, Any]]) -> CatalogueIndex:
        postings: dict[str, list[int]] = {}
        for position, record in enumerate(records):
            text = " ".join([*record["artists"], record["title"], record["mix"]])
            for token in tokens(text):
                postings.setdefault(token, []).append(position)
        return cls([json.dumps(r, ensure_ascii=False).encode() for r in records], postings)

    @classmethod
    def from_file(cls, path: Path) -> CatalogueIndex:
        """The index of a catalogue.json, kept beside it so that a server starts in ms."""
        path = Path(path)
        cache = path.with_name(path.name + ".index")
        stat = path.stat()
        key = [INDEX_VERSION, list(sys.version_info[:2]), stat.st_size, stat.st_mtime_ns]
        try:
            stored = marshal.loads(cache.read_bytes())
            if stored[0] == key:
                return cls(stored[1], stored[2])
        except (OSError, ValueError, EOFError, TypeError, IndexError):
            pass
        index = cls.build(json.loads(path.read_text(encoding="utf-8")))
        _atomic_write_bytes(cache, marshal.dumps([key, index._encoded, index._postings]))
        return index

    def __len__(self) -> int:
        return len(self._encoded)

    def search(self, query: str, limit: int = DEFAULT_LIMIT) -> bytes:
        """The JSON response body: records sharing most words with the query, best first."""
        hits: Counter[int] = Counter()
        for token in tokens(query):
            hits.update(self._postings.get(token, ()))
        best = heapq.nsmallest(limit, hits.items(), key=lambda item: (-item[1], item[0]))
        results = b",".join(self._encoded[position] for position, _ in best)
        head = json.dumps({"query": query, "count": len(best)})[:-1].encode()
        return head + b', "results": [' + results + b"]}"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    index: CatalogueIndex
    latency_seconds: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive when the client asks for it
    disable_nagle_algorithm = True  # else headers and body wait ~40 ms for a delayed ACK
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        status = 200
        if url.path == "/search":
            try:
                limit = min(MAX_LIMIT, max(1, int(query.get("limit", [DEFAULT_LIMIT])[0])))
            except ValueError:
                limit = DEFAULT_LIMIT
            body = self.server.index.search(query.get("q", [""])[0], limit)
        elif url.path == "/health":
            body = json.dumps({"ok": True, "records": len(self.server.index)}).encode()
        else:
            status, body = 404, b'{"error": "not found"}'
        if self.server.latency_seconds:
            time.sleep(self.server.latency_seconds)  # models a remote service's round trip
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log would drown the benchmark's output."""


@dataclass
class CatalogueServer:
    """A catalogue server in a child process; use as a context manager or start()/stop()."""

    catalogue: Path
    latency_seconds: float = 0.0
    port: int | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("catalogue server is not running")
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The child's command line: this file as a script, without site-packages (``-S``).

        Every benchmark that searches starts a server, in every worker: importing perfkit
        (and site's path set-up) would cost each one ~30 ms of CPU for nothing."""
        script = str(Path(__file__).resolve())
        latency = repr(self.latency_seconds)
        return [
            sys.executable,
            "-S",
            script,
            "--catalogue",
            str(self.catalogue),
            "--latency",
            latency,
        ]

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> CatalogueServer:
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        atexit.register(self.stop)
        try:
            self.port = self._read_port(self._proc, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            code = proc.poll()
            state = f"exited with code {code}" if code is not None else f"silent for {timeout:g} s"
            raise RuntimeError(f"catalogue server {state} before listening")
        return int(line.split()[1])

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and release its pipes."""
        proc, self._proc, self.port = self._proc, None, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        for step in (subprocess.Popen.terminate, subprocess.Popen.kill):
            step(proc)
            try:
                proc.wait(timeout=2.0)
                break
            except subprocess.TimeoutExpired:
                continue
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> CatalogueServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(catalogue: Path, port: int = 0, latency_seconds: float = 0.0) -> None:
    """Serve until stdin reaches EOF (the parent died) or a signal ends the process."""
    server = _Server((HOST, port), _Handler)
    server.index = CatalogueIndex.from_file(catalogue)
    server.latency_seconds = latency_seconds
    print(f"PORT {server.server_address[1]}", flush=True)

    def watch_parent() -> None:
        sys.stdin.buffer.read()
        server.shutdown()

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Catalogue search API of the perfkit demo.")
    parser.add_argument("--catalogue", type=Path, required=True, help="catalogue.json")
    parser.add_argument("--port", type=int, default=0, help="0: an ephemeral port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args(argv)
    serve(args.catalogue, args.port, args.latency)


if __name__ == "__main__":
    main()
