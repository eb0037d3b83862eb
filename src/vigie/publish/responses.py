"""HTTP answers built once: the body, its ETag and its gzip form, served to every later request as they are.

The app never writes the warehouse, so an answer that depends only on it (the contours of a level, the portrait
of a territory) cannot change while the app runs. `Body` keeps it serialised with a strong ETag; `respond`
answers 304 to a matching `If-None-Match`, and sends the gzip form (level 6) compressed once (instead of at every request by
the gzip middleware) to clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response


class Erreur(BaseModel):
    """Corps de toute réponse d'erreur."""

    detail: str


ERROR_TEXTS = {400: "Paramètre invalide.", 404: "Ressource introuvable (territoire, indicateur, niveau ou année).",
               409: "Code ambigu : précisez le niveau (NIVEAU:CODE).", 422: "Paramètre invalide.",
               503: "Le cube d'indicateurs n'est pas construit."}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an endpoint, for the OpenAPI schema."""
    return {s: {"model": Erreur, "description": ERROR_TEXTS[s]} for s in statuses}


@dataclass
class Body:
    content: bytes
    etag: str = ""
    _gzipped: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = '"' + hashlib.sha256(self.content).hexdigest()[:32] + '"'

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.content, compresslevel=6, mtime=0)
        return self._gzipped


def respond(request: Request, body: Body, media_type: str, cache_control: str = "public, max-age=600",
            compress: bool = True) -> Response:
    """The body (gzip-encoded when the client accepts it and `compress`), or 304 when the client already has this
    version."""
    headers = {"ETag": body.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if body.etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if compress and len(body.content) >= 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(body.gzipped, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(body.content, media_type=media_type, headers=headers)


class LRU:
    """A small thread-safe least-recently-used cache of built answers, bounded in count and in bytes (of `Body`)."""

    def __init__(self, size: int = 2048, max_bytes: int = 128 * 2**20):
        self.size = size
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _weight(value: Any) -> int:
        return len(value.content) if isinstance(value, Body) else 0

    def get(self, key, build: Callable[[], Any]):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._bytes += self._weight(value)
            while len(self._items) > self.size or (self._bytes > self.max_bytes and len(self._items) > 1):
                _key, old = self._items.popitem(last=False)
                self._bytes -= self._weight(old)
        return value
