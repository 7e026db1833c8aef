"""Batch endpoints for FakeLLM: OpenAI files + batches and Anthropic message batches.

``FakeBatchLLM`` is a FakeLLM whose handler also serves::

    POST /v1/files                        GET /v1/files/{id}/content
    POST /v1/batches                      GET /v1/batches/{id}
    POST /v1/messages/batches             GET /v1/messages/batches/{id}
                                          GET /v1/messages/batches/{id}/results

Answers come from FakeLLM's responder, computed when the batch is created. A batch reports
"in progress" for ``in_progress_polls`` retrievals, then ends. ``outcome`` decides per request
body whether it succeeds ("ok") or is "errored", "expired" or "canceled".
"""

from __future__ import annotations

import email.parser
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from fakellm import FakeLLM, _Handler, _error

Outcome = Callable[[dict[str, Any]], str]


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class _BatchHandler(_Handler):
    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        fake: FakeBatchLLM = self.server.fake  # type: ignore[assignment]
        if path.endswith(("/v1/files", "/v1/batches", "/v1/messages/batches")):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, payload = fake._batch_post(path, raw, self.headers.get("content-type", ""))
            self._send_json(status, payload)
        else:
            super().do_POST()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        fake: FakeBatchLLM = self.server.fake  # type: ignore[assignment]
        found = fake._batch_get(path)
        if found is None:
            self._send_json(404, {"error": {"type": "not_found", "message": f"no route for GET {path}"}})
        elif isinstance(found, bytes):
            self._send_raw(200, found, {"content-type": "application/jsonl"})
        else:
            self._send_json(200, found)


class FakeBatchLLM(FakeLLM):
    def __init__(self, *, in_progress_polls: int = 0, outcome: Outcome | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.in_progress_polls = in_progress_polls
        self.outcome: Outcome = outcome or (lambda body: "ok")
        self.reject: str | None = None  # "openai"/"anthropic": that API's batch calls answer 401
        # The message of every error this server sends (rejections, errored requests), e.g. one
        # that repeats a key as careless servers do; None: each error's usual message.
        self.error_text: str | None = None
        self.creates: Counter[str] = Counter()  # "openai" / "anthropic" batch creations
        self.batch_sizes: list[int] = []
        self._files: dict[str, bytes] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._batch_lock = threading.Lock()

    def start(self) -> FakeBatchLLM:
        super().start()
        assert self._server is not None
        self._server.RequestHandlerClass = _BatchHandler  # used from the next connection on
        return self

    # -- POST ------------------------------------------------------------------------------

    def _batch_post(self, path: str, raw: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        kind = "anthropic" if path.endswith("/v1/messages/batches") else "openai"
        if self.reject == kind:
            return 401, _error(kind, "authentication_error", self.error_text or "Incorrect API key provided.")
        with self._batch_lock:
            if path.endswith("/v1/files"):
                return 200, self._upload(raw, content_type)
            body = json.loads(raw or b"{}")
            if path.endswith("/v1/messages/batches"):
                return 200, self._create_anthropic(body["requests"])
            if body.get("input_file_id") not in self._files:
                return 400, _error("openai", "invalid_request_error", "input file not found")
            return 200, self._create_openai(body)

    def _upload(self, raw: bytes, content_type: str) -> dict[str, Any]:
        message = email.parser.BytesParser().parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        data, filename = b"", "upload"
        for part in message.walk():
            if part.get_param("name", header="content-disposition") == "file":
                data = part.get_payload(decode=True) or b""
                filename = part.get_filename() or filename
        file_id = f"file-{uuid.uuid4().hex[:12]}"
        self._files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": filename, "purpose": "batch", "status": "processed"}

    def _create_openai(self, body: dict[str, Any]) -> dict[str, Any]:
        lines = [json.loads(line) for line in self._files[body["input_file_id"]].decode().splitlines() if line.strip()]
        self.creates["openai"] += 1
        self.batch_sizes.append(len(lines))
        output, errors = [], []
        for line in lines:
            outcome = self.outcome(line["body"])
            entry: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"]}
            if outcome == "ok":
                answer = self._answer("openai", line["body"])
                output.append({**entry, "response": {"status_code": 200, "request_id": "req", "body": answer}, "error": None})
            elif outcome == "errored":
                body_error = _error("openai", "invalid_request_error", self.error_text or "The model does not exist.")
                errors.append({**entry, "response": {"status_code": 404, "request_id": "req", "body": body_error}, "error": None})
            else:
                code = "batch_expired" if outcome == "expired" else "batch_cancelled"
                errors.append({**entry, "response": None, "error": {"code": code, "message": f"This request was {outcome}."}})
        batch_id = f"batch_{uuid.uuid4().hex[:12]}"
        final = "expired" if any(self.outcome(l["body"]) == "expired" for l in lines) else "completed"
        self._batches[batch_id] = {
            "kind": "openai", "polls": 0, "final": final, "output": output, "errors": errors, "total": len(lines),
            "object": {"id": batch_id, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
                       "completion_window": body["completion_window"], "created_at": int(time.time()), "status": "validating",
                       "request_counts": {"total": len(lines), "completed": 0, "failed": 0}},
        }
        return self._batches[batch_id]["object"]

    def _create_anthropic(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        self.creates["anthropic"] += 1
        self.batch_sizes.append(len(requests))
        results = []
        for request in requests:
            outcome = self.outcome(request["params"])
            if outcome == "ok":
                result: dict[str, Any] = {"type": "succeeded", "message": self._answer("anthropic", request["params"])}
            elif outcome == "errored":
                result = {"type": "errored", "error": _error("anthropic", "invalid_request_error", self.error_text or "max_tokens: too large")}
            else:
                result = {"type": outcome}
            results.append({"custom_id": request["custom_id"], "result": result})
        batch_id = f"msgbatch_{uuid.uuid4().hex[:12]}"
        now = time.time()
        self._batches[batch_id] = {
            "kind": "anthropic", "polls": 0, "results": results,
            "object": {"id": batch_id, "type": "message_batch", "processing_status": "in_progress",
                       "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
                       "created_at": _rfc3339(now), "expires_at": _rfc3339(now + 86400), "ended_at": None,
                       "archived_at": None, "cancel_initiated_at": None, "results_url": None},
        }
        return self._batches[batch_id]["object"]

    # -- GET -------------------------------------------------------------------------------

    def _batch_get(self, path: str) -> dict[str, Any] | bytes | None:
        with self._batch_lock:
            parts = path.split("/")
            if len(parts) >= 2 and parts[-1] == "content" and parts[-2] in self._files:
                return self._files[parts[-2]]
            if parts[-1] == "results" and parts[-2] in self._batches:
                results = self._batches[parts[-2]]["results"]
                return "".join(json.dumps(r) + "\n" for r in results).encode()
            batch = self._batches.get(parts[-1])
            if batch is None:
                return None
            batch["polls"] += 1
            if batch["polls"] > self.in_progress_polls:
                self._finish(parts[-1], batch)
            elif batch["kind"] == "openai":
                batch["object"]["status"] = "in_progress"
            return batch["object"]

    def _finish(self, batch_id: str, batch: dict[str, Any]) -> None:
        obj = batch["object"]
        if batch["kind"] == "anthropic":
            counts = Counter(r["result"]["type"] for r in batch["results"])
            obj.update(processing_status="ended", ended_at=_rfc3339(time.time()), results_url=f"{self.url}/v1/messages/batches/{batch_id}/results")
            obj["request_counts"] = {"processing": 0, "succeeded": counts["succeeded"], "errored": counts["errored"],
                                     "canceled": counts["canceled"], "expired": counts["expired"]}
            return
        if obj["status"] in ("completed", "expired"):
            return
        for name, lines in (("output_file_id", batch["output"]), ("error_file_id", batch["errors"])):
            if lines:
                file_id = f"file-{uuid.uuid4().hex[:12]}"
                self._files[file_id] = "".join(json.dumps(line) + "\n" for line in lines).encode()
                obj[name] = file_id
        obj["status"] = batch["final"]
        obj["request_counts"] = {"total": batch["total"], "completed": len(batch["output"]), "failed": len(batch["errors"])}
