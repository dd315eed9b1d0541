"""HTTP adapters (the only crawler code that imports httpx)."""

from studiolab.adapters.http.httpx_fetcher import HttpxFetcher

__all__ = ["HttpxFetcher"]
