"""Media helpers the provider formats share: ``data:`` URIs, inlining a
reference with ``resolve_uri``, base64 in its two alphabets."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import urllib.parse
from typing import Any

from synergia_core.providers import ResolveUri

__all__ = [
    "data_uri",
    "decode_base64",
    "encode_base64",
    "filename",
    "inline_bytes",
    "is_remote",
    "split_data_uri",
]


def split_data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a ``data:`` URI, base64 or percent-encoded;
    ``None`` when ``uri`` is not one (or its base64 is broken)."""
    if not uri.startswith("data:"):
        return None
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        return None
    params = [param.strip().lower() for param in header.split(";")]
    media_type = params[0] or "text/plain"
    if "base64" in params[1:]:
        try:
            return media_type, decode_base64(urllib.parse.unquote(payload))
        except ValueError:
            return None
    return media_type, urllib.parse.unquote_to_bytes(payload)


def decode_base64(value: Any) -> bytes:
    """Binary data as bytes, or as standard or URL-safe base64 text.

    Raises:
        ValueError: A string that is not base64, or neither bytes nor text.
    """
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError(f"expected bytes or base64 text, got {type(value).__name__}")
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64: {value[:40]!r}") from error


def encode_base64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()


def data_uri(media_type: str, data: bytes) -> str:
    """A base64 ``data:`` URI."""
    return f"data:{media_type};base64,{encode_base64(data)}"


def is_remote(uri: str) -> bool:
    """An http(s) URL, which a provider may fetch itself."""
    return uri.startswith(("https://", "http://"))


def inline_bytes(
    uri: str, mime_type: str, resolve_uri: ResolveUri | None
) -> tuple[str, bytes] | None:
    """(media type, bytes) of a ``data:`` URI, or of a reference fetched by
    ``resolve_uri``; ``None`` when neither works."""
    split = split_data_uri(uri)
    if split is not None:
        return split
    if uri.startswith("data:") or resolve_uri is None:
        return None
    data, resolved = resolve_uri(uri)
    return (resolved or mime_type), bytes(data)


def filename(name: str | None, mime_type: str) -> str:
    """A file's name, or ``file`` with the extension of its type (APIs tell
    documents apart by their extension)."""
    return name or "file" + (mimetypes.guess_extension(mime_type) or "")
