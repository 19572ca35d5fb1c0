"""Private file responses: the bytes of a media file or thumbnail, once a view has checked access.

Every response carries the stored content type, `Cache-Control: private`, an ETag (files never change, so the
content hash is a strong validator) and `X-Content-Type-Options: nosniff`; `If-None-Match` answers 304.

In production the proxy can send the bytes: set MEDIA_SENDFILE_HEADER to `X-Accel-Redirect` (nginx, with an
`internal` location at MEDIA_SENDFILE_PREFIX aliasing MEDIA_ROOT) or `X-Sendfile` (Apache, with the prefix set
to MEDIA_ROOT's absolute path). The view then answers with that header and no body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotModified,
)
from django.utils.cache import patch_cache_control

CACHE_SECONDS = 3600


# An image opened directly must not be able to run anything, whatever its bytes say. (The browser's own image view
# styles itself inline, hence style-src.)
IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def _common_headers(response: HttpResponseBase, etag: str) -> HttpResponseBase:
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_POLICY
    patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


def private_file_response(
    request: HttpRequest, *, name: str, content_type: str, etag_value: str, download_name: str | None = None
) -> HttpResponseBase:
    """Serve the stored file `name` (access already checked), or 304 when the browser's copy is current."""
    etag = f'"{etag_value}"'
    if _etag_matches(request, etag):
        return _common_headers(HttpResponseNotModified(), etag)

    header: str = settings.MEDIA_SENDFILE_HEADER
    if header:
        response: HttpResponseBase = HttpResponse(content_type=content_type)
        response[header] = settings.MEDIA_SENDFILE_PREFIX.rstrip("/") + "/" + quote(name)
        if download_name:
            response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download_name)}"
        return _common_headers(response, etag)

    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file is missing.") from exc
    response = FileResponse(
        handle, content_type=content_type, as_attachment=bool(download_name), filename=download_name or ""
    )
    if isinstance(request, ASGIRequest):
        # Under ASGI Django would read a file's whole iterator into memory before sending a byte (and warn):
        # hand it chunks read in a thread instead. The headers FileResponse took from the file stay.
        response.streaming_content = _chunks(handle)
    return _common_headers(response, etag)


CHUNK_BYTES = 256 * 1024


async def _chunks(handle: File) -> AsyncIterator[bytes]:
    read = sync_to_async(handle.read, thread_sensitive=False)
    try:
        while chunk := await read(CHUNK_BYTES):
            yield chunk
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()
