"""The SDK-backed providers, driven through the real openai/anthropic SDKs against FakeLLM."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fakellm import FakeLLM

from promptcheck.providers.anthropic_provider import AnthropicProvider
from promptcheck.providers.base import ProviderConfigError, ProviderError, ProviderRequest, Usage
from promptcheck.providers.openai_provider import OpenAIProvider
from promptcheck.providers.pricing import cost_for, price_for


def make_request(
    provider: str = "openai",
    model: str = "gpt-4o",
    messages: tuple[tuple[str, str], ...] = (("user", "hello there"),),
    **kwargs: Any,
) -> ProviderRequest:
    return ProviderRequest(provider=provider, model=model, label=f"{provider}:{model}", messages=messages, **kwargs)


def openai_provider(fake_llm: FakeLLM, **kwargs: Any) -> OpenAIProvider:
    kwargs.setdefault("max_retries", 1)
    kwargs.setdefault("timeout_s", 5.0)
    return OpenAIProvider(base_url=fake_llm.openai_base_url, api_key="test-openai-key", **kwargs)


def anthropic_provider(fake_llm: FakeLLM, **kwargs: Any) -> AnthropicProvider:
    kwargs.setdefault("max_retries", 1)
    kwargs.setdefault("timeout_s", 5.0)
    return AnthropicProvider(base_url=fake_llm.anthropic_base_url, api_key="test-anthropic-key", **kwargs)


# Both SDK providers, for the tests every provider must pass the same way.
PROVIDERS: dict[str, tuple[Callable[..., Any], str, str]] = {
    "openai": (openai_provider, "openai", "gpt-4o"),
    "anthropic": (anthropic_provider, "anthropic", "claude-3-5-haiku-20241022"),
}


@pytest.fixture(params=sorted(PROVIDERS))
def each(request: pytest.FixtureRequest, fake_llm: FakeLLM) -> tuple[Callable[..., Any], ProviderRequest]:
    make, provider, model = PROVIDERS[request.param]
    return (lambda **kw: make(fake_llm, **kw)), make_request(provider, model)


# -- OpenAI ----------------------------------------------------------------------------------


def test_openai_answers_with_text_usage_latency_cost_and_meta(fake_llm: FakeLLM) -> None:
    response = openai_provider(fake_llm).complete(make_request(messages=(("system", "be brief"), ("user", "hi you"))))

    assert response.text == "hi you"
    assert response.usage == Usage(input_tokens=4, output_tokens=2)
    assert response.latency_s > 0
    assert response.cost == pytest.approx((4 * 2.50 + 2 * 10.00) / 1e6)
    assert response.raw_meta["model"] == "gpt-4o"
    assert response.raw_meta["finish_reason"] == "stop"
    assert response.raw_meta["id"].startswith("chatcmpl-")
    assert response.replayed is False
    sent = fake_llm.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-openai-key"
    assert sent.body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi you"}]


def test_openai_maps_parameters_and_passes_response_format(fake_llm: FakeLLM) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    params = {
        "temperature": 0.2,
        "maxTokens": 50,
        "topP": 0.9,
        "stop": ["END"],
        "seed": 7,
        "presencePenalty": 0.1,
        "frequency_penalty": 0.3,
        "not_an_api_param": "dropped",
    }
    openai_provider(fake_llm).complete(make_request(params=params, response_format=schema))

    body = fake_llm.requests[-1].body
    assert {k: body[k] for k in body if k not in ("messages", "model")} == {
        "temperature": 0.2,
        "max_tokens": 50,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "response_format": schema,
    }


def test_openai_max_completion_tokens_keeps_its_own_name(fake_llm: FakeLLM) -> None:
    openai_provider(fake_llm).complete(make_request(model="o4-mini", params={"maxCompletionTokens": 99}))

    body = fake_llm.requests[-1].body
    assert body["max_completion_tokens"] == 99
    assert "max_tokens" not in body


def test_openai_reads_key_and_base_url_from_environment(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-openai-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.openai_base_url)

    assert OpenAIProvider.openai(max_retries=0).complete(make_request()).text == "hello there"
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer env-openai-key"


def test_github_models_sends_publisher_model_name_to_the_inference_path(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "env-github-token")
    provider = OpenAIProvider.github(base_url=fake_llm.github_base_url, max_retries=0)

    response = provider.complete(make_request("github", "openai/gpt-4o-mini"))

    sent = fake_llm.requests[-1]
    assert sent.path == "/inference/chat/completions"
    assert sent.body["model"] == "openai/gpt-4o-mini"
    assert sent.headers["authorization"] == "Bearer env-github-token"
    assert response.cost is not None  # priced as gpt-4o-mini


def test_github_tolerates_the_full_label_as_model_name(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider.github(base_url=fake_llm.github_base_url, api_key="t", max_retries=0)
    provider.complete(make_request("github", "github:meta/llama-3.3-70b-instruct"))
    assert fake_llm.requests[-1].body["model"] == "meta/llama-3.3-70b-instruct"


def test_compatible_server_needs_no_key_and_never_gets_the_openai_key(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-to-local-servers")
    provider = OpenAIProvider.compatible("ollama", fake_llm.openai_base_url, api_key_env="LOCAL_KEY", max_retries=0)

    assert provider.complete(make_request("compatible", "llama3.2")).text == "hello there"
    assert "sk-must-not-leak" not in fake_llm.requests[-1].headers.get("authorization", "")

    monkeypatch.setenv("LOCAL_KEY", "local-secret")
    OpenAIProvider.compatible("vllm", fake_llm.openai_base_url, api_key_env="LOCAL_KEY").complete(make_request())
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer local-secret"


# -- Anthropic -------------------------------------------------------------------------------


def test_anthropic_moves_system_messages_and_defaults_max_tokens(fake_llm: FakeLLM) -> None:
    messages = (("system", "rule one"), ("system", "rule two"), ("user", "question"))
    response = anthropic_provider(fake_llm).complete(make_request("anthropic", "claude-sonnet-4-20250514", messages))

    sent = fake_llm.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.body["system"] == "rule one\n\nrule two"
    assert sent.body["messages"] == [{"role": "user", "content": "question"}]
    assert sent.body["max_tokens"] == 1024
    assert response.text == "question"
    assert response.raw_meta["finish_reason"] == "end_turn"
    assert response.raw_meta["id"].startswith("msg_")
    assert response.cost == pytest.approx((5 * 3.0 + 1 * 15.0) / 1e6)  # 5 words in, 1 out


def test_anthropic_maps_parameters(fake_llm: FakeLLM) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    params = {"maxTokens": 64, "temperature": 0, "topP": 0.5, "stop": "STOP", "seed": 1}
    anthropic_provider(fake_llm).complete(
        make_request("anthropic", "claude-3-5-haiku-latest", params=params, response_format=schema)
    )

    body = fake_llm.requests[-1].body
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0
    assert body["top_p"] == 0.5
    assert body["stop_sequences"] == ["STOP"]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert "seed" not in body and "stop" not in body


def test_anthropic_joins_text_blocks(fake_llm: FakeLLM) -> None:
    fake_llm.responder = lambda kind, body: ["Hello, ", "world", "!"]
    response = anthropic_provider(fake_llm).complete(make_request("anthropic", "claude-3-5-haiku"))
    assert response.text == "Hello, world!"
    assert response.usage.output_tokens == 3


# -- configuration errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "variable"),
    [
        (lambda url: OpenAIProvider.openai(base_url=url), "OPENAI_API_KEY"),
        (lambda url: OpenAIProvider.github(base_url=url), "GITHUB_TOKEN"),
        (lambda url: AnthropicProvider(base_url=url), "ANTHROPIC_API_KEY"),
        (lambda url: OpenAIProvider.compatible("remote", url, api_key_env="LOCAL_KEY", key_required=True), "LOCAL_KEY"),
    ],
)
def test_missing_key_is_a_config_error_naming_the_variable(
    fake_llm: FakeLLM, make: Callable[[str], Any], variable: str
) -> None:
    with pytest.raises(ProviderConfigError, match=f"set the {variable} environment variable"):
        make(fake_llm.url)
    assert fake_llm.requests == []


# -- faults ----------------------------------------------------------------------------------


def test_rate_limit_is_retried_after_retry_after(
    each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM
) -> None:
    make, req = each
    fake_llm.script(["429:1", "ok"])

    response = make().complete(req)

    first, second = fake_llm.requests
    assert response.text == "hello there"
    assert (first.fault, second.fault) == ("429:1", "ok")
    # The SDK's own backoff would wait < 0.5 s; waiting ~1 s means retry-after was honoured.
    assert 0.9 <= second.received_at - first.received_at < 3.0
    assert second.headers["x-stainless-retry-count"] == "1"


def test_server_error_retried_then_reported(each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM) -> None:
    make, req = each
    fake_llm.script(["500", "500"])

    with pytest.raises(ProviderError) as caught:
        make(max_retries=1).complete(req)

    assert len(fake_llm.requests) == 2
    message = str(caught.value)
    assert "HTTP 500" in message
    assert "The server had an error processing your request." in message
    assert "gave up after 2 attempts" in message


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("400", "HTTP 400 (bad request): Unsupported parameter: 'seed'."),
        ("401", "HTTP 401 (authentication failed): Incorrect API key provided."),
    ],
    ids=["400", "401"],
)
def test_client_errors_are_reported_without_retrying(
    each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM, fault: str, expected: str
) -> None:
    make, req = each
    fake_llm.script([fault, "ok"])
    with pytest.raises(ProviderError) as caught:
        make(max_retries=2).complete(req)
    assert str(caught.value).endswith(expected)  # no "gave up after": one attempt only
    assert len(fake_llm.requests) == 1


def test_unreachable_server_is_a_connection_error() -> None:
    with FakeLLM() as gone:
        pass  # its port is closed now
    providers = [
        OpenAIProvider(base_url=gone.openai_base_url, api_key="k", max_retries=0),
        AnthropicProvider(base_url=gone.anthropic_base_url, api_key="k", max_retries=0),
    ]
    for provider in providers:
        with pytest.raises(ProviderError, match="connection failed: ConnectError"):
            provider.complete(make_request())


def test_server_error_then_success(each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM) -> None:
    make, req = each
    fake_llm.script(["500", "ok"])
    assert make(max_retries=1).complete(req).text == "hello there"
    assert len(fake_llm.requests) == 2


def test_connection_reset_retried_then_reported(
    each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM
) -> None:
    make, req = each
    fake_llm.script(["reset", "reset"])

    with pytest.raises(ProviderError, match=r"connection failed: .*gave up after 2 attempts"):
        make(max_retries=1).complete(req)

    fake_llm.clear()
    fake_llm.script(["reset", "ok"])
    assert make(max_retries=1).complete(req).text == "hello there"


def test_hang_times_out_within_bounded_time(each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM) -> None:
    make, req = each
    fake_llm.script(["hang"])
    started = time.monotonic()

    with pytest.raises(ProviderError, match=r"timed out after 0\.3s"):
        make(timeout_s=0.3, max_retries=0).complete(req)

    assert time.monotonic() - started < 3.0


def test_malformed_json_is_a_provider_error(each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM) -> None:
    make, req = each
    fake_llm.script(["badjson"])
    with pytest.raises(ProviderError, match="malformed JSON"):
        make().complete(req)


SHAPE = "{}: the API answer did not have the expected shape ({})"
NO_ANSWER = {
    "html": "not JSON: '<html><body>Please log in to the proxy</body></html>'",
    "notobject": 'not a JSON object: ["not", "an", "answer"]',
}


@pytest.mark.parametrize("fault", ["html", "notobject"], ids=["html-page", "json-list"])
def test_a_body_that_is_no_answer_says_what_it_was_for_both_apis(
    each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM, fault: str
) -> None:
    make, req = each
    fake_llm.script([fault])
    with pytest.raises(ProviderError) as caught:
        make().complete(req)
    assert str(caught.value) == SHAPE.format(req.provider, NO_ANSWER[fault])


@pytest.mark.parametrize(("provider", "missing"), [("openai", "choices"), ("anthropic", "content")])
def test_json_of_the_wrong_shape_names_the_missing_field(fake_llm: FakeLLM, provider: str, missing: str) -> None:
    make, _, model = PROVIDERS[provider]
    fake_llm.script(["wrongshape"])
    with pytest.raises(ProviderError) as caught:
        make(fake_llm).complete(make_request(provider, model))
    detail = f"no '{missing}' in the answer: {{\"id\": \"odd\", \"object\": \"something.else\"}}"
    assert str(caught.value) == SHAPE.format(provider, detail)


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ({"choices": []}, "'choices' in the answer is empty: {\"choices\": []}"),
        ({"choices": [{"index": 0}]}, "no 'message' in the answer's first choice: {\"index\": 0}"),
        ({"choices": "none"}, "'choices' in the answer is str, not a list: {\"choices\": \"none\"}"),
    ],
)
def test_openai_answers_missing_a_nested_field_say_which(answer: dict[str, Any], detail: str) -> None:
    provider = OpenAIProvider(api_key="test-openai-key")
    with pytest.raises(ProviderError) as caught:
        provider.respond(make_request(), answer, 0.0)
    assert str(caught.value) == SHAPE.format("openai", detail)


def test_an_anthropic_answer_with_no_text_blocks_is_an_empty_answer() -> None:
    provider = AnthropicProvider(api_key="test-anthropic-key")
    answer = {"id": "m", "model": "claude", "content": [], "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 0}}
    response = provider.respond(make_request("anthropic", "claude"), answer, 0.0)
    assert (response.text, response.usage) == ("", Usage(3, 0))


def test_an_answer_labelled_as_plain_text_is_still_read(each: tuple[Callable[..., Any], ProviderRequest], fake_llm: FakeLLM) -> None:
    make, req = each
    fake_llm.script(["textplain"])
    assert make().complete(req).text == "hello there"


def test_concurrent_slow_calls_overlap(fake_llm: FakeLLM) -> None:
    fake_llm.delay_s = 0.2
    provider = openai_provider(fake_llm)
    with ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(lambda i: provider.complete(make_request(messages=(("user", f"n{i}"),))).text, range(32)))
    assert texts == [f"n{i}" for i in range(32)]
    # The server saw calls wait side by side: one shared client does not serialise them.
    assert fake_llm.most_in_delay > 4


# -- pricing ---------------------------------------------------------------------------------


def test_price_table_lookup_by_family_publisher_and_override() -> None:
    usage = Usage(1_000_000, 1_000_000)
    assert cost_for("gpt-4o", usage) == pytest.approx(12.5)
    assert cost_for("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.75)  # not priced as gpt-4o
    assert cost_for("openai/gpt-4.1-mini", usage) == pytest.approx(2.0)
    assert cost_for("claude-3-5-sonnet-20241022", usage) == pytest.approx(18.0)
    assert cost_for("my-local-model", usage) is None
    assert cost_for("gpt-4o", Usage(None, 3)) is None
    assert cost_for("my-local-model", usage, {"my-local-model": {"input": 1, "output": 2}}) == pytest.approx(3.0)
    assert price_for("gpt-4o", {"gpt-4o": price_for("o3")}) == price_for("o3")  # type: ignore[dict-item]


def test_bad_price_override_is_a_config_error() -> None:
    with pytest.raises(ProviderConfigError, match="price for 'x' must look like"):
        cost_for("x", Usage(1, 1), {"x": 3})


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_the_answer_models_are_built_before_concurrent_calls_parse_answers(sdk: str) -> None:
    # A fresh interpreter: this one may have built them already. Both SDKs defer building their
    # pydantic models to first use, and threads racing in that build fail a call.
    code = (
        "from promptcheck.providers.sdk_common import answer_models, prepare_sdk\n"
        f"models = answer_models({sdk!r})\n"
        "unbuilt = lambda: sum(not m.__pydantic_complete__ for m in models)\n"
        "import sys\n"
        "http_stack = lambda: int('h11' in sys.modules)\n"
        f"before = unbuilt(), http_stack(); prepare_sdk({sdk!r}); print(len(models), *before, unbuilt(), http_stack())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total, unbuilt_before, http_before, unbuilt_after, http_after = map(int, done.stdout.split())
    assert total >= 5 and unbuilt_before == total and not http_before
    assert unbuilt_after == 0
    assert http_after, "a first client was made, importing the HTTP stack before the first call"
