"""HTTP client of the catalogue search API."""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlsplit

from perfkit.monitor import timer


class CatalogueError(RuntimeError):
    """The catalogue answered with an error."""


class CatalogueClient:
    """Searches the catalogue; one HTTP connection per request."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        url = urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.timeout = timeout

    def fetch(self, query: str, limit: int) -> bytes:
        """The raw JSON body of a search."""
        path = f"/search?q={quote(query)}&limit={limit}"
        with timer("http.search"):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("GET", path, headers={"Connection": "close"})
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
        if response.status != 200:
            raise CatalogueError(f"catalogue search failed: HTTP {response.status}")
        return body

    def close(self) -> None:
        """Nothing to release: connections are closed after each request."""
