"""HTTP client of the catalogue search API."""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlsplit

from perfkit.monitor import timer


class CatalogueError(RuntimeError):
    """The catalogue answered with an error."""


class CatalogueClient:
    """Searches the catalogue over one kept-alive HTTP connection."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        url = urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def fetch(self, query: str, limit: int) -> bytes:
        """The raw JSON body of a search."""
        path = f"/search?q={quote(query)}&limit={limit}"
        with timer("http.search"):
            try:
                response, body = self._get(path)
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()  # the server dropped an idle connection: retry once on a new one
                response, body = self._get(path)
        if response.status != 200:
            raise CatalogueError(f"catalogue search failed: HTTP {response.status}")
        return body

    def _get(self, path: str) -> tuple[http.client.HTTPResponse, bytes]:
        conn = self._connection()
        conn.request("GET", path)
        response = conn.getresponse()
        return response, response.read()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
