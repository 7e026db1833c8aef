"""A loopback fake LLM server for tests and benchmarks.

It speaks just enough of two wire formats for the real SDKs to be happy:

* OpenAI Chat Completions: ``POST <anything>/chat/completions``
* Anthropic Messages:      ``POST <anything>/messages``
* OpenAI Embeddings:       ``POST <anything>/embeddings`` (deterministic bag-of-words vectors)

Image parts are accepted in both formats; the ``describe_images`` responder answers with what
images arrived (count, media types, sizes), so tests see what the SDKs really sent.

Routing is by path *suffix*, so one server serves every base_url scheme the SDKs build:

=============  ===========================================  ==================================
SDK / target   base_url to configure                        path the SDK then POSTs to
=============  ===========================================  ==================================
openai         ``fake.openai_base_url``  (``…:P/v1``)       ``/v1/chat/completions``
compatible     ``fake.openai_base_url``  (``…:P/v1``)       ``/v1/chat/completions``
github models  ``fake.github_base_url``  (``…:P/inference``) ``/inference/chat/completions``
anthropic      ``fake.anthropic_base_url`` (``…:P``)        ``/v1/messages``
azure          ``fake.url``                                 ``/openai/deployments/<d>/chat/completions``
bedrock        ``fake.url``                                 ``/model/<model id>/invoke``
vertex         ``fake.url``                                 ``/projects/<p>/locations/<r>/…/models/<m>:rawPredict``
=============  ===========================================  ==================================

Usage::

    with FakeLLM(delay_s=0.01) as fake:
        fake.script(["429", "ok"])          # first call rate-limited, second answered
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
        ...
        assert fake.requests[-1].body["model"] == "gpt-4o"

Faults (one per incoming request, consumed in order; ``ok`` or an empty queue answers normally):

* ``429`` / ``429:<seconds>`` rate limit with a ``retry-after`` header (default ``retry_after_s``)
* ``500``  an internal server error with an API-shaped error body
* ``400`` / ``401`` a bad request / a rejected key (the SDKs do not retry these)
* ``401echo`` a rejected key whose message repeats the credential sent, as careless proxies do
  (``invalid credentials: Bearer sk-…`` / ``invalid credentials: x-api-key sk-ant-…``)
* ``reset`` the socket is closed without any response
* ``hang``  no answer until the server stops (longer than any sane client timeout)
* ``badjson`` status 200 with a truncated JSON body
* ``wrongshape`` status 200 with valid JSON that is not an answer of either API
* ``notobject`` status 200 with valid JSON that is not an object (a list)
* ``textplain`` a normal answer labelled ``text/plain`` (as some self-hosted servers send it)
* ``html`` status 200 with an HTML page (a captive portal or a proxy's login page)

Tool calls: when a request declares ``tools`` (either wire format) and its last user message
says ``call <tool name>`` (optionally ``call <name> with {json arguments}``), the answer calls
those declared tools, in the order written, in that API's wire format (OpenAI ``tool_calls`` with
``finish_reason: tool_calls``; Anthropic ``tool_use`` blocks with ``stop_reason: tool_use``).
``fake.tool_rule`` replaces that rule: ``(kind, body) -> [(name, arguments), ...]``. A request
that ends with tool results (a simulated agent loop) is read the same way, its results standing
for the user message; when they ask for no call the answer is ``tool results: <r1>; <r2>``.

Answers report token usage (whitespace words) and stop at ``max_tokens`` / ``max_completion_tokens``
words, as the real APIs stop at the output limit.

CLI for benchmarks: ``python tests/fakellm.py --port 8765 --delay 0.2``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import re
import socket
import struct
import threading
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Which tools an answer calls: [(name, arguments)], empty for none.
ToolRule = Callable[[str, dict[str, Any]], "list[tuple[str, dict[str, Any]]]"]
_CALL = re.compile(r"\bcall (?:the )?([A-Za-z0-9_-]+)")


def declared_tool_names(kind: str, body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        function = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def calls_asked_for(kind: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The default tool rule: ``call <declared tool>[ with {json}]`` in the last user message."""
    declared = declared_tool_names(kind, body)
    if not declared:
        return []
    results = last_tool_results(kind, body)
    text = " ".join(results) if results is not None else echo_last_user_message(kind, body)
    calls = []
    for match in _CALL.finditer(text):
        if match.group(1) not in declared:
            continue
        arguments: dict[str, Any] = {}
        rest = text[match.end():]
        if rest.startswith(" with "):
            try:
                value, _ = json.JSONDecoder().raw_decode(rest[len(" with "):])
                arguments = value if isinstance(value, dict) else {}
            except ValueError:
                pass
        calls.append((match.group(1), arguments))
    return calls


def last_tool_results(kind: str, body: dict[str, Any]) -> list[str] | None:
    """The tool results the request ends with (OpenAI ``tool`` messages, Anthropic
    ``tool_result`` blocks), or None when it ends otherwise."""
    messages = body.get("messages") or []
    if kind == "anthropic":
        last = messages[-1] if messages else {}
        blocks = last.get("content") if last.get("role") == "user" and isinstance(last.get("content"), list) else []
        found = [_text_of(b.get("content")) for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        return found or None
    found = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        found.insert(0, _text_of(message.get("content")))
    return found or None


# A responder may return several strings: Anthropic gets one text block per string,
# OpenAI gets them concatenated (its wire format has a single content string).
Responder = Callable[[str, dict[str, Any]], "str | list[str]"]

FAULTS = ("ok", "429", "500", "400", "401", "401echo", "reset", "hang", "badjson", "wrongshape", "notobject", "textplain", "html")


@dataclass(frozen=True)
class RecordedRequest:
    kind: str  # "openai", "anthropic" or "embeddings"
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    fault: str  # what the server did with it
    received_at: float = field(default_factory=time.monotonic)
    query: str = ""  # the URL's query string (Azure's api-version)


def _text_of(content: Any) -> str:
    """Message content is a string or (Anthropic / OpenAI parts) a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def echo_last_user_message(kind: str, body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def received_images(kind: str, content: Any) -> list[str]:
    """The images of one message as the server received them, each as ``<media type> <n> bytes``
    (inline) or ``url <url>``: OpenAI ``image_url`` parts (a URL or a data: URI) or Anthropic
    ``image`` blocks (a base64 or url source)."""
    found: list[str] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if kind == "openai" and part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if url.startswith("data:"):
                header, _, data = url[5:].partition(",")
                found.append(f"{header.split(';')[0]} {len(base64.b64decode(data))} bytes")
            else:
                found.append(f"url {url}")
        elif kind == "anthropic" and part.get("type") == "image":
            source = part.get("source") or {}
            if source.get("type") == "base64":
                found.append(f"{source.get('media_type')} {len(base64.b64decode(source.get('data', '')))} bytes")
            else:
                found.append(f"url {source.get('url')}")
    return found


def describe_images(kind: str, body: dict[str, Any]) -> str:
    """A responder for image prompts: the last user message's text, then what images came with it
    (``2 images: image/png 68 bytes, url https://...``)."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            images = received_images(kind, message.get("content"))
            return f"{_text_of(message.get('content'))} | {len(images)} images: {', '.join(images)}"
    return ""


def _count_tokens(text: str) -> int:
    # Whitespace words are a fine stand-in: tests only need stable, non-zero numbers.
    return len(text.split())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A benchmark opens 64+ connections at once; the default backlog of 5 would make
    # clients see connection resets under load.
    request_queue_size = 256
    allow_reuse_address = True

    fake: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (a killed process, a test's reset) is not news.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, like real APIs: the SDKs pool connections.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms on Linux) and every answer arrives late under load.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest output should show test failures, not access logs

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/embeddings"):
            kind = "embeddings"
        elif path.endswith("/chat/completions"):
            kind = "openai"
        elif path.endswith("/messages"):
            kind = "anthropic"
        elif path.endswith("/invoke") or path.endswith(":rawPredict"):
            # Bedrock (/model/<id>/invoke) and Vertex (…/models/<id>:rawPredict): the Messages
            # API with the model in the URL instead of the body.
            kind = "anthropic"
            body.setdefault("model", urllib.parse.unquote(path.rsplit("/invoke", 1)[0].rsplit("/", 1)[-1].removesuffix(":rawPredict")))
        else:
            self._send_json(404, {"error": {"type": "not_found", "message": f"no route for {path}"}})
            return
        fault = fake._next_fault()
        query = self.path.partition("?")[2]
        fake._record(RecordedRequest(kind, path, {k.lower(): v for k, v in self.headers.items()}, body, fault, query=query))
        name, _, arg = fault.partition(":")
        if name == "reset":
            self._reset()
            return
        if name == "hang":
            fake._stopping.wait()
            self.close_connection = True
            return
        if fake.delay_s:
            fake._enter_delay()
            try:
                time.sleep(fake.delay_s)
            finally:
                fake._leave_delay()
        if name == "429":
            retry_after = arg or f"{fake.retry_after_s:g}"
            self._send_json(
                429, _error(kind, "rate_limit_error", "Rate limit reached, slow down."), {"retry-after": retry_after}
            )
        elif name == "500":
            self._send_json(500, _error(kind, "api_error", "The server had an error processing your request."))
        elif name == "400":
            self._send_json(400, _error(kind, "invalid_request_error", "Unsupported parameter: 'seed'."))
        elif name == "401":
            self._send_json(401, _error(kind, "authentication_error", "Incorrect API key provided."))
        elif name == "401echo":
            sent = self.headers.get("authorization") or f"x-api-key {self.headers.get('x-api-key')}"
            self._send_json(401, _error(kind, "authentication_error", f"invalid credentials: {sent}"))
        elif name == "badjson":
            self._send_raw(200, b'{"id": "broken", "choices": [{"message": ')
        elif name == "html":
            self._send_raw(200, b"<html><body>Please log in to the proxy</body></html>", content_type="text/html")
        elif name == "wrongshape":
            self._send_json(200, {"id": "odd", "object": "something.else"})
        elif name == "notobject":
            self._send_json(200, ["not", "an", "answer"])
        else:
            try:
                answer = fake._answer(kind, body)
            except Exception as exc:  # a broken test responder should read as such, not as a reset
                self._send_json(500, _error(kind, "api_error", f"fakellm responder failed: {exc!r}"))
                return
            if name == "textplain":
                self._send_raw(200, json.dumps(answer).encode("utf-8"), content_type="text/plain; charset=utf-8")
            else:
                self._send_json(200, answer)

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees a dropped connection,
        # not a clean end of stream it might mistake for an empty response.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode("utf-8"), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _error(kind: str, error_type: str, message: str) -> dict[str, Any]:
    if kind == "anthropic":
        return {"type": "error", "error": {"type": error_type, "message": message}}
    return {"error": {"type": error_type, "message": message, "code": None, "param": None}}


class FakeLLM:
    """A threaded loopback server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_s: float = 0.0,
        responder: Responder | None = None,
        retry_after_s: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.delay_s = delay_s
        self.responder: Responder = responder or echo_last_user_message
        self.tool_rule: ToolRule = calls_asked_for
        self.retry_after_s = retry_after_s
        # The raw finish_reason (OpenAI) / stop_reason (Anthropic) to answer with; None: the usual.
        self.finish_reason: str | None = None
        self._faults: collections.deque[str] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        # Requests inside their delay at once, and the most there ever were: whether callers overlap.
        self.in_delay = 0
        self.most_in_delay = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, name=f"fakellm:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases "hang" handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For openai.OpenAI(base_url=...) and OpenAI-compatible servers."""
        return f"{self.url}/v1"

    @property
    def github_base_url(self) -> str:
        """Stands in for https://models.github.ai/inference."""
        return f"{self.url}/inference"

    @property
    def anthropic_base_url(self) -> str:
        """For anthropic.Anthropic(base_url=...); the SDK appends /v1/messages itself."""
        return self.url

    # -- scripting and inspection ------------------------------------------------------------

    def script(self, faults: Iterable[str]) -> None:
        """Queue what the next requests get, one entry per request, e.g. ["429", "ok"]."""
        items = list(faults)
        for item in items:
            if item.partition(":")[0] not in FAULTS:
                raise ValueError(f"unknown fault {item!r}; expected one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend(items)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    def _next_fault(self) -> str:
        with self._lock:
            return self._faults.popleft() if self._faults else "ok"

    def _enter_delay(self) -> None:
        with self._lock:
            self.in_delay += 1
            self.most_in_delay = max(self.most_in_delay, self.in_delay)

    def _leave_delay(self) -> None:
        with self._lock:
            self.in_delay -= 1

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "embeddings":
            return _embeddings(body)
        calls = self.tool_rule(kind, body)
        if calls:
            return _tool_answer(kind, body, calls, self.finish_reason)
        results = last_tool_results(kind, body)
        # After tool results, the default answer reports them; a test's own responder still decides.
        reply = "tool results: " + "; ".join(results) if results is not None and self.responder is echo_last_user_message else self.responder(kind, body)
        parts = [reply] if isinstance(reply, str) else list(reply)
        prompt_tokens = sum(_count_tokens(_text_of(m.get("content"))) for m in body.get("messages") or [])
        if kind == "anthropic":
            prompt_tokens += _count_tokens(_text_of(body.get("system")))
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        cut = isinstance(limit, int) and sum(_count_tokens(p) for p in parts) > limit
        if cut:  # as the real APIs do: the answer stops at the output limit
            parts = [" ".join(" ".join(parts).split()[:limit])]
        completion_tokens = sum(_count_tokens(p) for p in parts)
        model = body.get("model", "fake-model")
        if kind == "anthropic":
            return {
                "id": f"msg_{uuid.uuid4().hex[:20]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": p} for p in parts],
                "stop_reason": self.finish_reason or ("max_tokens" if cut else "end_turn"),
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
            }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(parts)},
                    "finish_reason": self.finish_reason or ("length" if cut else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _tool_answer(kind: str, body: dict[str, Any], calls: list[tuple[str, dict[str, Any]]], finish: str | None) -> dict[str, Any]:
    """An answer that only calls tools, in ``kind``'s wire format."""
    model = body.get("model", "fake-model")
    ids = [f"call_{hashlib.sha256(f'{i}{n}'.encode()).hexdigest()[:12]}" for i, (n, _) in enumerate(calls)]
    usage_in = sum(_count_tokens(_text_of(m.get("content"))) for m in body.get("messages") or [])
    usage_out = sum(_count_tokens(json.dumps(a)) for _, a in calls)
    if kind == "anthropic":
        return {
            "id": f"msg_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "tool_use", "id": i, "name": n, "input": a} for i, (n, a) in zip(ids, calls)],
            "stop_reason": finish or "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
        }
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, (n, a) in zip(ids, calls)
            ]},
            "finish_reason": finish or "tool_calls",
        }],
        "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out},
    }


def hashed_embedding(text: str, dims: int = 64) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words get a high cosine similarity."""
    vector = [0.0] * dims
    for word in text.lower().split():
        digest = hashlib.sha256(word.strip(".,;:!?").encode("utf-8")).digest()
        vector[digest[0] % dims] += 1.0
    return vector


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI ``POST /v1/embeddings``: one hashed bag-of-words vector per input string."""
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    return {
        "object": "list",
        "model": body.get("model", "fake-embedding"),
        "data": [{"object": "embedding", "index": i, "embedding": hashed_embedding(t)} for i, t in enumerate(texts)],
        "usage": {"prompt_tokens": sum(_count_tokens(t) for t in texts), "total_tokens": sum(_count_tokens(t) for t in texts)},
    }


def running(**kwargs: Any) -> Iterator[FakeLLM]:
    """Generator form for pytest fixtures: ``yield from fakellm.running()``."""
    with FakeLLM(**kwargs) as fake:
        yield fake


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI/Anthropic API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    args = parser.parse_args(argv)
    with FakeLLM(host=args.host, port=args.port, delay_s=args.delay) as fake:
        print(f"openai:    {fake.openai_base_url}", flush=True)
        print(f"github:    {fake.github_base_url}", flush=True)
        print(f"anthropic: {fake.anthropic_base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()


def two_provider_pyproject(fake: "FakeLLM") -> str:
    """[tool.promptcheck] with an OpenAI model `gpt` and an Anthropic model `claude`, both served by ``fake``."""
    return f"""
[tool.promptcheck]
models = ["gpt", "claude"]
[tool.promptcheck.providers.gpt]
type = "openai"
model = "gpt-4o"
base_url = "{fake.openai_base_url}"
[tool.promptcheck.providers.claude]
type = "anthropic"
model = "claude-3-5-haiku-20241022"
base_url = "{fake.anthropic_base_url}"
"""
