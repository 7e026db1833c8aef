"""A message's content parts (text and images) once rendered: their cassette key and wire forms.

``ProviderRequest.messages`` keeps each message's text (its text parts joined), so everything
that reads text (displays, cost bounds, checks) is unchanged; ``ProviderRequest.parts`` adds
the full part list of the messages that have one. An image's key is its content hash, never
its path or bytes, so a renamed file replays and a changed one misses."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

TEXT = "text"
IMAGE = "image"


@dataclass(frozen=True)
class ContentPart:
    """A text part, or an image given inline (``data``) or by a remote ``url``."""

    type: str  # TEXT or IMAGE
    text: str = ""
    url: str = ""  # a remote image (https://...); empty when the bytes are inline
    data: bytes = b""
    media_type: str = ""
    source: str = ""  # where the bytes came from, for messages (a path, or "a data: URI")

    @property
    def sha256(self) -> str:
        cached: str | None = self.__dict__.get("_sha256")
        if cached is None:
            cached = hashlib.sha256(self.data).hexdigest()
            object.__setattr__(self, "_sha256", cached)  # frozen; hashing a big image once is enough
        return cached

    def canonical(self) -> dict[str, Any]:
        """What cassettes key on and show: never the bytes."""
        if self.type == TEXT:
            return {"type": TEXT, "text": self.text}
        if self.url:
            return {"type": IMAGE, "url": self.url}
        return {"type": IMAGE, "sha256": self.sha256, "media_type": self.media_type, "bytes": len(self.data)}

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


Parts = tuple[tuple[int, tuple[ContentPart, ...]], ...]


def joined_text(parts: tuple[ContentPart, ...]) -> str:
    """A message's text: its text parts, one per line."""
    return "\n".join(p.text for p in parts if p.type == TEXT)


def shown_messages(messages: tuple[tuple[str, str], ...], parts: Parts) -> tuple[tuple[str, str], ...]:
    """The messages as a person reading a run should see them: a message with images gets a line
    per image where it stood (never its bytes), so the report's rendered prompt says it was sent."""
    if not parts:
        return messages
    shown = list(messages)
    for index, message_parts in parts:
        if index < len(shown):
            shown[index] = (shown[index][0], "\n".join(p.text if p.type == TEXT else _described(p) for p in message_parts))
    return tuple(shown)


def _described(part: ContentPart) -> str:
    if part.url:
        return f"[image: {part.url}]"
    where = f"{part.source}, " if part.source else ""
    return f"[image: {where}{part.media_type}, {len(part.data):,} bytes, sha256 {part.sha256[:12]}]"


def canonical_parts(parts: Parts) -> list[list[Any]]:
    return [[index, [p.canonical() for p in message]] for index, message in parts]


def openai_content(parts: tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": p.text} if p.type == TEXT else {"type": "image_url", "image_url": {"url": p.url or p.data_url()}}
        for p in parts
    ]


def anthropic_content(parts: tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    """Anthropic's content blocks: ``image`` with a ``base64`` or ``url`` source."""
    blocks: list[dict[str, Any]] = []
    for p in parts:
        if p.type == TEXT:
            blocks.append({"type": "text", "text": p.text})
        elif p.url:
            blocks.append({"type": "image", "source": {"type": "url", "url": p.url}})
        else:
            data = base64.b64encode(p.data).decode("ascii")
            blocks.append({"type": "image", "source": {"type": "base64", "media_type": p.media_type, "data": data}})
    return blocks


Messages = tuple[tuple[str, str], ...]


def wire_messages(messages: Messages, parts: Parts, form: str, skip_roles: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A request's messages as ``{role, content}`` for one API (``openai`` or ``anthropic``):
    a message with parts gets them as a list, the others keep their text."""
    by_index = dict(parts)
    convert = openai_content if form == "openai" else anthropic_content
    return [
        {"role": role, "content": convert(by_index[i]) if i in by_index else content}
        for i, (role, content) in enumerate(messages)
        if role not in skip_roles
    ]


def cassette_messages(messages: Messages, parts: Parts) -> list[dict[str, Any]]:
    """The messages a cassette entry shows: the text, and for a message with parts their short
    descriptions (an image as hash, media type and size, never its bytes)."""
    by_index = dict(parts)
    shown: list[dict[str, Any]] = []
    for i, (role, content) in enumerate(messages):
        message: dict[str, Any] = {"role": role, "content": content}
        if i in by_index:
            message["parts"] = [p.canonical() for p in by_index[i]]
        shown.append(message)
    return shown
