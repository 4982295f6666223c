"""Url-mode images: the fake stores the bytes and serves them at ``/files/<token>.<ext>``.

Like a CDN it needs no key. Each URL can be broken on purpose (expired, slow, a redirect loop);
the oldest files are dropped past ``max_files``, so a long load test stays small.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._asgi import Request, Responder, Watcher
from ._faults import UrlPlan, check_indexes

__all__ = ["FILES_PREFIX", "FileStore"]

FILES_PREFIX = "/files/"


def file_type(data: bytes) -> tuple[str, str]:
    """``(content_type, extension)`` of image bytes, from their magic numbers."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    return "application/octet-stream", "bin"


@dataclass(frozen=True)
class _StoredFile:
    data: bytes
    content_type: str
    plan: UrlPlan | None


class FileStore:
    """Published images and the URL faults planned for the next url-mode answer."""

    def __init__(self, max_files: int = 1024) -> None:
        self.max_files = max_files
        self.download_count = 0
        self._files: OrderedDict[str, _StoredFile] = OrderedDict()
        self._plans: dict[int, UrlPlan] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._plans = {}
            self.download_count = 0

    def plan(self, indexes: Iterable[int], plan: UrlPlan) -> None:
        """Break the URLs at ``indexes`` of the next url-mode answer (merged until used)."""
        chosen = check_indexes(indexes)
        with self._lock:
            for index in chosen:
                self._plans[index] = plan

    def take_plans(self) -> Mapping[int, UrlPlan]:
        with self._lock:
            plans, self._plans = self._plans, {}
        return plans

    def publish(self, base: str, data: bytes, plan: UrlPlan | None, extension: str | None) -> str:
        """Store ``data``; return its absolute URL (``extension`` overrides the real one)."""
        if plan is not None and plan.fault == "non_http":
            return plan.url
        content_type, real_extension = file_type(data)
        token = secrets.token_hex(8)
        with self._lock:
            self._files[token] = _StoredFile(data, content_type, plan)
            while len(self._files) > max(1, self.max_files):
                self._files.popitem(last=False)
        return f"{base}{FILES_PREFIX}{token}.{extension or real_extension}"

    async def serve(
        self, request: Request, responder: Responder, watcher: Watcher, *, latency: float
    ) -> None:
        """Answer ``GET /files/<token>.<ext>`` (the extension is ignored, as it may lie)."""
        token = request.path[len(FILES_PREFIX) :].split(".", 1)[0]
        with self._lock:
            self.download_count += 1
            stored = self._files.get(token)
        plan = stored.plan if stored is not None else None
        delay = latency + (plan.seconds if plan is not None and plan.fault == "slow" else 0.0)
        if delay > 0 and not await watcher.sleep(delay):
            return
        if stored is None or (plan is not None and plan.fault == "expired"):
            text = b"404: this file does not exist or has expired"
            await responder.respond(404, text, content_type="text/plain; charset=utf-8")
        elif plan is not None and plan.fault == "redirect_loop":
            headers = [("location", f"{request.base}{request.path}")]
            await responder.respond(302, b"", content_type=None, headers=headers)
        else:
            headers = [("cache-control", "private, max-age=3600")]
            await responder.respond(
                200, stored.data, content_type=stored.content_type, headers=headers
            )
