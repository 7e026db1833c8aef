"""Message content written as a list of parts, in OpenAI / GitHub Models form::

    content:
      - {type: text, text: "What is in this picture, {{name}}?"}
      - {type: image_url, image_url: {url: "file://photos/cat.png"}}

Reading checks the parts' shape; rendering templates each part and loads each image: an
``https://`` URL stays a URL, a ``data:`` URI and a ``file://`` path (relative to the prompt
file) become bytes. promptfoo loads a ``file://image.png`` var as the image's bare base64,
which an ``image_url`` may then hold as it is."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any, Callable

from promptcheck.formats.fields import type_name
from promptcheck.formats.templating import Filters, TemplateError, render
from promptcheck.providers.parts import IMAGE, TEXT, ContentPart
from promptcheck.safefiles.kinds import not_readable_reason
from promptcheck.spec import Message, MessagePart

PART_TYPES = ("text", "image_url")
# OpenAI takes images up to 20 MB; a bigger file is a mistake, and its base64 would sit in memory per item.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# The image types both OpenAI and Anthropic accept.
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg")  # what promptfoo loads as base64
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
FILE_PREFIX = "file://"


class PartsError(Exception):
    """A content list that is not a list of parts; the message says which part and why."""


def is_openai_parts(value: Any) -> bool:
    """A non-empty list of OpenAI-form parts only (promptfoo passes other lists on as JSON)."""
    return bool(value) and isinstance(value, list) and all(isinstance(p, dict) and p.get("type") in PART_TYPES for p in value)


def parse_parts(value: list[Any]) -> tuple[MessagePart, ...]:
    if not value:
        raise PartsError("'content' is an empty list of parts")
    parts = []
    for number, part in enumerate(value, 1):
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict):
            raise PartsError(f"content part {number} must be a {{type, ...}} mapping, got {type_name(part)}")
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise PartsError(f"content part {number}: a text part needs 'text' as a string")
            parts.append(MessagePart("text", part["text"]))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise PartsError(f"content part {number}: an image_url part needs 'image_url: {{url: ...}}' with the URL as a string")
            parts.append(MessagePart("image_url", url))
        else:
            raise PartsError(f"content part {number}: type must be one of {', '.join(PART_TYPES)}, got {kind!r}")
    return tuple(parts)


def parts_message(role: str, parts: tuple[MessagePart, ...], convert: Callable[[str], str] = lambda s: s) -> Message:
    """A message with parts; its content is the text parts joined, as ``joined_text`` joins them rendered.
    ``convert`` turns each template into Jinja (promptfoo's Nunjucks)."""
    converted = tuple(MessagePart(p.type, convert(p.value)) for p in parts)
    return Message(role, "\n".join(p.value for p in converted if p.type == "text"), parts=converted)


def render_parts(
    parts: tuple[MessagePart, ...], variables: dict[str, Any], base_dir: Path, filters: Filters = ()
) -> tuple[ContentPart, ...]:
    """Each part rendered, each image loaded; raises TemplateError naming a file that cannot be used."""
    rendered = []
    for part in parts:
        value = render(part.value, variables, filters)
        rendered.append(ContentPart(TEXT, text=value) if part.type == "text" else load_image(value.strip(), base_dir))
    return tuple(rendered)


def built_parts(text: str, base_dir: Path) -> tuple[ContentPart, ...] | None:
    """A message a promptfoo prompt builder made (a chat rendered as a whole, or returned by a
    prompt function) keeps a content list as its JSON text: OpenAI-form parts are read back
    and their images loaded. None for any other text."""
    if not text.startswith("[{"):
        return None
    try:
        data = json.loads(text)
        written = parse_parts(data) if is_openai_parts(data) else None
    except (ValueError, RecursionError, PartsError):
        return None
    if written is None:
        return None
    return tuple(ContentPart(TEXT, text=p.value) if p.type == "text" else load_image(p.value.strip(), base_dir) for p in written)


def load_image(url: str, base_dir: Path) -> ContentPart:
    if url.startswith(("https://", "http://")):
        return ContentPart(IMAGE, url=url)
    if url.startswith("data:"):
        return _data_uri(url)
    if url.startswith(FILE_PREFIX):
        return read_image(url[len(FILE_PREFIX) :], base_dir)
    data = _bare_base64(url)
    if data is not None:
        return data
    shown = url if len(url) <= 60 else url[:57] + "..."
    raise TemplateError(f"image url must be https://, data: or file://, got {shown!r}")


def read_image(written: str, base_dir: Path) -> ContentPart:
    """An image file, ``written`` relative to ``base_dir``; errors name the file as written."""
    path = Path(written) if Path(written).is_absolute() else base_dir / written
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise TemplateError(f"image '{written}': unknown image type {path.suffix or '(no suffix)'!r} (use {', '.join(MEDIA_TYPES)})")
    reason = not_readable_reason(path)
    if reason is None and not path.exists():
        reason = f"file not found (looked in {base_dir})"
    if reason is None:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            reason = f"{_mb(size)}, over the {_mb(MAX_IMAGE_BYTES)} limit for an image"
    if reason is not None:
        raise TemplateError(f"image '{written}': {reason}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"image '{written}': cannot read it: {exc.strerror}") from None
    return ContentPart(IMAGE, data=data, media_type=media_type, source=written)


def image_var(path: Path, written: str) -> str:
    """promptfoo's value for a ``file://`` var naming an image: the file's bytes as base64."""
    reason = not_readable_reason(path)
    if reason is None and path.stat().st_size > MAX_IMAGE_BYTES:
        reason = f"{_mb(path.stat().st_size)}, over the {_mb(MAX_IMAGE_BYTES)} limit for an image"
    if reason is not None:
        raise PartsError(f"image '{written}': {reason}")
    try:
        return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise PartsError(f"image '{written}': cannot read it: {exc.strerror}") from None


def _data_uri(url: str) -> ContentPart:
    header, _, payload = url[len("data:") :].partition(",")
    media_type, _, encoding = header.partition(";")
    if encoding != "base64":
        raise TemplateError("image data: URI must be base64 (data:<media type>;base64,...)")
    if media_type not in MEDIA_TYPES.values():
        raise TemplateError(f"image data: URI: media type {media_type!r} is not supported (use {', '.join(sorted(set(MEDIA_TYPES.values())))})")
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise TemplateError("image data: URI is not valid base64") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise TemplateError(f"image data: URI: {_mb(len(data))}, over the {_mb(MAX_IMAGE_BYTES)} limit for an image")
    return ContentPart(IMAGE, data=data, media_type=media_type, source="a data: URI")


def _bare_base64(text: str) -> ContentPart | None:
    """promptfoo's image var: the file's base64 without a data: prefix; its type from its first bytes."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    media_type = next((m for sig, m in _SIGNATURES if data.startswith(sig)), None)
    if media_type is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media_type = "image/webp"
    if media_type is None:
        return None
    if len(data) > MAX_IMAGE_BYTES:
        raise TemplateError(f"image (base64): {_mb(len(data))}, over the {_mb(MAX_IMAGE_BYTES)} limit for an image")
    return ContentPart(IMAGE, data=data, media_type=media_type, source="base64 text")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
