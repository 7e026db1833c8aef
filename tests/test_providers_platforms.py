"""Azure OpenAI, Claude on Bedrock and Vertex, Gemini and Ollama, and the *_BASE_URL variables:
through the real SDK clients (AzureOpenAI, AnthropicBedrock, AnthropicVertex, OpenAI) against
FakeLLM, and through pytest where the user reads the message."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fakellm import FakeLLM
from liveproject import Project, run_record

from promptcheck.config import Settings
from promptcheck.providers.anthropic_provider import AnthropicProvider
from promptcheck.providers.azure_provider import AzureProvider, endpoint_url
from promptcheck.providers.base import ProviderConfigError, ProviderRequest, Usage
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.factory import ProviderFactory
from promptcheck.providers.registry import resolve_target

CLAUDE = "claude-3-5-haiku-20241022"


def request(label: str, providers: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> ProviderRequest:
    target = resolve_target(label, Settings(rootdir=Path("."), providers=providers or {}))
    messages = kwargs.pop("messages", (("system", "be brief"), ("user", "hello there")))
    return ProviderRequest(target.provider, target.model, target.label, messages, **kwargs)


def factory(tmp_path: Path, **providers: dict[str, Any]) -> ProviderFactory:
    settings = Settings(rootdir=tmp_path, providers=providers, record_mode="all", max_retries=0, timeout_s=5, call_process="off")
    return ProviderFactory(settings, CassetteStore(tmp_path / "cassettes", flush_interval_s=0))


def call(tmp_path: Path, label: str, providers: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    made = factory(tmp_path, **(providers or {}))
    try:
        return made.call(request(label, providers, **kwargs))
    finally:
        made.close()


@pytest.fixture
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3 sees only what a test sets: no profile files of this machine, no instance metadata."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws(no_aws_setup: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


# -- ANTHROPIC_BASE_URL and OPENAI_BASE_URL -------------------------------------------------------


def test_anthropic_reads_base_url_from_environment(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.anthropic_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-anthropic-key")

    assert AnthropicProvider(max_retries=0).complete(request(f"anthropic:{CLAUDE}")).text == "hello there"
    assert fake_llm.requests[-1].path == "/v1/messages"
    assert "env-anthropic-key" in (fake_llm.requests[-1].headers.get("x-api-key"), fake_llm.requests[-1].headers.get("authorization", "").removeprefix("Bearer "))


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_config_base_url_wins_over_the_environment(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    monkeypatch.setenv(f"{kind.upper()}_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv(f"{kind.upper()}_API_KEY", "test-key")
    url = fake_llm.anthropic_base_url if kind == "anthropic" else fake_llm.openai_base_url
    model = CLAUDE if kind == "anthropic" else "gpt-4o"

    answer = call(tmp_path, "m", {"m": {"type": kind, "model": model, "base_url": url}})

    assert answer.text == "hello there" and len(fake_llm.requests) == 1


def test_batch_honours_both_base_url_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakebatch import FakeBatchLLM

    from promptcheck.providers.batch.runner import run_batches

    with FakeBatchLLM() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-openai-key")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
        settings = Settings(rootdir=tmp_path, record_mode="new", max_retries=0, timeout_s=5)
        made = ProviderFactory(settings, CassetteStore(tmp_path / "cassettes", run_id="r", flush_interval_s=0))
        reqs = [request("openai:gpt-4o", item_id="a"), request(f"anthropic:{CLAUDE}", item_id="b")]

        results = run_batches(reqs, made, tmp_path / "batches", poll_s=0.001, run_id="r")

    assert results.failures == {} and results.answered == 2
    assert server.creates == {"openai": 1, "anthropic": 1}


# -- Azure OpenAI -----------------------------------------------------------------------------------


def test_azure_calls_the_deployment_with_api_key_header_and_version(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "test-azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_llm.url)
    params = {"temperature": 0.2, "maxTokens": 50, "seed": 7, "not_an_api_param": "dropped"}

    answer = AzureProvider(label="azure:chat:my-gpt", max_retries=0).complete(request("azure:chat:my-gpt", params=params))

    assert answer.text == "hello there" and answer.usage == Usage(4, 2)
    sent = fake_llm.requests[-1]
    assert sent.path == "/openai/deployments/my-gpt/chat/completions"
    assert sent.query == "api-version=2024-10-21"
    assert sent.headers["api-key"] == "test-azure-key" and "authorization" not in sent.headers
    assert {k: v for k, v in sent.body.items() if k != "messages"} == {"model": "my-gpt", "temperature": 0.2, "max_tokens": 50, "seed": 7}


def test_azure_from_a_providers_table_with_promptfoo_key_and_version_env(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AZURE_API_KEY", "promptfoo-style-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")  # the table's base_url wins
    table = {"type": "azure", "model": "prod-4o", "base_url": fake_llm.url}

    assert call(tmp_path, "gpt", {"gpt": table}).text == "hello there"
    sent = fake_llm.requests[-1]
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/prod-4o/chat/completions", "api-version=2025-01-01-preview", "promptfoo-style-key"
    )


def test_azure_api_version_from_config(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    call(tmp_path, "gpt", {"gpt": {"type": "azure", "model": "d", "base_url": fake_llm.url, "api_version": "2024-06-01"}})
    assert fake_llm.requests[-1].query == "api-version=2024-06-01"


def test_promptfoo_api_host_is_a_bare_host_name() -> None:
    assert endpoint_url("myres.openai.azure.com") == "https://myres.openai.azure.com"
    assert endpoint_url("https://myres.openai.azure.com/") == "https://myres.openai.azure.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9"}, "azure:chat:d needs an API key: set the AZURE_OPENAI_API_KEY or AZURE_API_KEY environment variable."),
        ({"AZURE_OPENAI_API_KEY": "k"}, "azure:chat:d needs the Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com) or base_url in [tool.promptcheck.providers.\"azure:chat:d\"]."),
    ],
)
def test_azure_missing_setup_is_a_config_error(clean_api_env: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ProviderConfigError) as caught:
        AzureProvider(label="azure:chat:d")
    assert str(caught.value) == message


# -- Claude on Bedrock --------------------------------------------------------------------------------

BEDROCK_ID = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"


def test_bedrock_invokes_the_model_with_sigv4_and_maps_parameters(
    fake_llm: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake_llm.url)
    params = {"temperature": 0.3, "maxTokens": 40, "stop": "END"}

    answer = call(tmp_path, f"bedrock:{BEDROCK_ID}", params=params)

    assert answer.text == "hello there" and answer.usage == Usage(4, 2)
    assert answer.cost is not None and answer.raw_meta["price_source"] in ("genai-prices", "built-in table")
    sent = fake_llm.requests[-1]
    assert sent.path == f"/model/{BEDROCK_ID}/invoke"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/")
    assert "/us-east-1/bedrock/aws4_request" in sent.headers["authorization"]
    assert sent.body.pop("anthropic_version")  # the SDK's; the model is in the URL (the fake copies it back)
    assert sent.body == {
        "max_tokens": 40, "system": "be brief", "stop_sequences": ["END"],
        "temperature": 0.3, "messages": [{"role": "user", "content": "hello there"}], "model": BEDROCK_ID,
    }


def test_bedrock_region_and_base_url_from_config(fake_llm: FakeLLM, aws: None, tmp_path: Path) -> None:
    table = {"type": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0", "base_url": fake_llm.url, "region": "eu-west-3"}
    assert call(tmp_path, "claude", {"claude": table}).text == "hello there"
    assert "/eu-west-3/bedrock/aws4_request" in fake_llm.requests[-1].headers["authorization"]


def test_bedrock_api_key_is_a_bearer_token(fake_llm: FakeLLM, no_aws_setup: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "test-bedrock-api-key")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake_llm.url)
    call(tmp_path, f"bedrock:{BEDROCK_ID}")
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer test-bedrock-api-key"


def test_bedrock_without_credentials_says_what_to_set(live_project: Project, no_aws_setup: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    live_project.configure(models=f'["bedrock:{BEDROCK_ID}"]')

    result = live_project.run("--record-mode=all")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([
        f"bedrock:{BEDROCK_ID} needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK."
    ])
    assert live_project.fake.requests == []


def test_bedrock_without_the_extra_names_the_pip_command(live_project: Project, aws: None) -> None:
    # boto3 as good as uninstalled: importing it fails, as without promptcheck[bedrock].
    live_project.pytester.makeconftest("import sys\nsys.modules['boto3'] = None\n")
    live_project.configure(models=f'["bedrock:{BEDROCK_ID}"]')

    result = live_project.run("--record-mode=all", "-p", "no:randomly")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([
        f"bedrock:{BEDROCK_ID}: Claude on Bedrock needs the 'bedrock' extra (boto3 is not installed): pip install 'promptcheck[bedrock]'"
    ])


def test_only_anthropic_models_run_on_bedrock(aws: None, tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match=r"model 'bedrock:amazon.nova-lite-v1:0': only Anthropic models run on Bedrock here"):
        call(tmp_path, "bedrock:amazon.nova-lite-v1:0")


# -- Claude on Vertex -----------------------------------------------------------------------------------


def test_vertex_raw_predicts_with_the_access_token(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", "test-access-token")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "my-project")
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", fake_llm.url)

    answer = call(tmp_path, "vertex:claude-sonnet-4@20250514", params={"temperature": 0, "max_tokens": 30})

    assert answer.text == "hello there"
    sent = fake_llm.requests[-1]
    assert sent.path == "/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
    assert sent.headers["authorization"] == "Bearer test-access-token"
    assert "anthropic_version" in sent.body and sent.body["max_tokens"] == 30  # the model is in the URL
    assert sent.body["temperature"] == 0 and sent.body["system"] == "be brief"


def test_vertex_project_region_and_base_url_from_config(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", "t")
    table = {"type": "vertex", "model": "claude-3-5-haiku@20241022", "base_url": fake_llm.url, "project_id": "p1", "region": "europe-west1"}
    call(tmp_path, "c", {"c": table})
    assert fake_llm.requests[-1].path == "/projects/p1/locations/europe-west1/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict"


def test_vertex_token_without_project_is_a_config_error(clean_api_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", "t")
    with pytest.raises(ProviderConfigError) as caught:
        call(tmp_path, "vertex:claude-sonnet-4@20250514")
    assert str(caught.value) == (
        "vertex:claude-sonnet-4@20250514 needs a Google Cloud project: set ANTHROPIC_VERTEX_PROJECT_ID or project_id "
        "in [tool.promptcheck.providers.\"vertex:claude-sonnet-4@20250514\"]."
    )


def test_vertex_without_token_or_the_extra_names_the_pip_command(live_project: Project) -> None:
    live_project.pytester.makeconftest("import sys\nsys.modules['google.auth'] = None\n")
    live_project.configure(models='["vertex:claude-sonnet-4@20250514"]')

    result = live_project.run("--record-mode=all")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([
        "vertex:claude-sonnet-4@20250514: Claude on Vertex needs the 'vertex' extra (google.auth is not installed): pip install 'promptcheck[vertex]'"
    ])


# google-auth as found on a machine without Google Cloud credentials.
NO_GOOGLE_CREDENTIALS = """
import sys, types

class DefaultCredentialsError(Exception):
    pass

def default(scopes=None):
    raise DefaultCredentialsError("Your default credentials were not found.")

auth = types.ModuleType("google.auth")
auth.default = default
exceptions = types.ModuleType("google.auth.exceptions")
exceptions.DefaultCredentialsError = DefaultCredentialsError
auth.exceptions = exceptions
sys.modules.setdefault("google", types.ModuleType("google"))
sys.modules["google"].auth = auth
sys.modules.update({"google.auth": auth, "google.auth.exceptions": exceptions})
"""


def test_vertex_without_credentials_says_how_to_get_them(live_project: Project) -> None:
    live_project.pytester.makeconftest(NO_GOOGLE_CREDENTIALS)
    live_project.configure(models='["vertex:claude-sonnet-4@20250514"]')

    result = live_project.run("--record-mode=all")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([
        "vertex:claude-sonnet-4@20250514 needs Google Cloud credentials: run `gcloud auth application-default login`, "
        "set GOOGLE_APPLICATION_CREDENTIALS, or set VERTEX_API_KEY to an access token."
    ])


def test_gemini_ids_on_vertex_point_to_the_gemini_api(clean_api_env: None, tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match=r"only Claude models run on Vertex here .*; use google:gemini-2.5-pro for the Gemini API"):
        call(tmp_path, "vertex:gemini-2.5-pro")


# -- Gemini and Ollama presets ----------------------------------------------------------------------------


@pytest.mark.parametrize("key_env", ["GEMINI_API_KEY", "GOOGLE_API_KEY"])
def test_gemini_uses_the_openai_compatible_endpoint(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_env: str
) -> None:
    monkeypatch.setenv(key_env, "test-gemini-key")
    monkeypatch.setenv("GEMINI_BASE_URL", fake_llm.openai_base_url)

    answer = call(tmp_path, "google:gemini-2.5-flash", params={"temperature": 0.1, "maxTokens": 20})

    assert answer.text == "hello there" and answer.raw_meta["price_source"] == "genai-prices"
    sent = fake_llm.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == "Bearer test-gemini-key"
    assert {k: v for k, v in sent.body.items() if k != "messages"} == {"model": "gemini-2.5-flash", "temperature": 0.1, "max_tokens": 20}


def test_gemini_default_endpoint_and_config_base_url(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from promptcheck.providers.presets import gemini

    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert gemini(label="gemini:x").base_url == "https://generativelanguage.googleapis.com/v1beta/openai/"
    call(tmp_path, "g", {"g": {"type": "gemini", "model": "gemini-2.0-flash", "base_url": fake_llm.openai_base_url}})
    assert fake_llm.requests[-1].body["model"] == "gemini-2.0-flash"


def test_gemini_without_a_key_says_which_variables(live_project: Project) -> None:
    live_project.configure(models='["google:gemini-2.5-flash"]')

    result = live_project.run("--record-mode=all")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["google:gemini-2.5-flash needs an API key: set the GEMINI_API_KEY or GOOGLE_API_KEY environment variable."])


@pytest.mark.parametrize("label", ["ollama:chat:llama3.2:1b", "ollama:llama3.2:1b", "ollama:completion:llama3.2:1b"])
def test_ollama_reads_its_base_url_as_promptfoo_does_and_sends_no_key(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, label: str
) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_llm.url)  # without /v1, as promptfoo's
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")

    assert call(tmp_path, label, params={"temperature": 0}).text == "hello there"
    sent = fake_llm.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.body["model"] == "llama3.2:1b" and sent.body["temperature"] == 0
    assert sent.headers["authorization"] == "Bearer not-needed"


def test_ollama_default_url_config_base_url_and_optional_key(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from promptcheck.providers.presets import ollama

    assert ollama(label="ollama:x").base_url == "http://localhost:11434/v1"
    monkeypatch.setenv("OLLAMA_API_KEY", "proxy-key")
    call(tmp_path, "o", {"o": {"type": "ollama", "model": "qwen2.5", "base_url": fake_llm.openai_base_url}})
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer proxy-key"


# -- where prices came from ----------------------------------------------------------------------------------


def test_price_source_is_in_the_run_record_and_the_summary(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", live_project.fake.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-openai-key")
    prices = '[tool.promptcheck.prices]\n"tiny" = { input = 1.0, output = 2.0 }\n'
    table = f'[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "{live_project.fake.openai_base_url}"\n'
    live_project.configure(providers=table + prices, models='["local", "openai:gpt-4o"]')

    result = live_project.run("--record-mode=all")

    result.assert_outcomes(passed=6)
    record = run_record(live_project.pytester.path, result)
    assert {item.model: item.price_source for item in record.items} == {"local": "config", "openai:gpt-4o": "genai-prices"}
    result.stdout.fnmatch_lines(["prices: local from config; openai:gpt-4o from genai-prices"])


def test_prices_come_from_config_then_genai_prices_then_the_built_in_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptcheck.providers.pricing import Cost, priced

    usage = Usage(1_000_000, 1_000_000)
    assert priced("gpt-4o", usage, {"gpt-4o": {"input": 1, "output": 1}}) == Cost(2.0, "config")
    assert priced("gemini-2.5-flash", usage, provider="gemini") == Cost(pytest.approx(2.8), "genai-prices")
    assert priced(BEDROCK_ID, usage, provider="bedrock") == Cost(pytest.approx(18.0), "genai-prices")
    assert priced("my-local-model", usage) is None
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # not installed
    assert priced("gpt-4o", usage) == Cost(12.5, "built-in table")
    # Bedrock's and Vertex's spellings of Claude find their family in the table.
    assert priced(BEDROCK_ID, usage) == Cost(18.0, "built-in table")
    assert priced("claude-sonnet-4@20250514", usage) == Cost(18.0, "built-in table")
    assert priced("gemini-2.5-flash", usage) is None


@pytest.mark.parametrize(
    ("label", "provider", "model"),
    [
        ("azure:chat:my-dep", "azure", "my-dep"),
        ("azure:my-dep", "azure", "my-dep"),
        ("ollama:chat:llama3.2:1b", "ollama", "llama3.2:1b"),
        ("ollama:llama3.2", "ollama", "llama3.2"),
        ("google:gemini-2.5-pro", "google", "gemini-2.5-pro"),
        ("gemini:gemini-2.5-pro", "gemini", "gemini-2.5-pro"),
        (f"bedrock:{BEDROCK_ID}", "bedrock", BEDROCK_ID),
        ("vertex:claude-3-5-sonnet-v2@20241022", "vertex", "claude-3-5-sonnet-v2@20241022"),
        ("openai:chat:gpt-4o", "openai", "gpt-4o"),
        ("anthropic:messages:claude-3-haiku-20240307", "anthropic", "claude-3-haiku-20240307"),
    ],
)
def test_promptfoo_provider_ids_resolve(label: str, provider: str, model: str) -> None:
    target = resolve_target(label, Settings(rootdir=Path(".")))
    assert (target.label, target.provider, target.model) == (label, provider, model)


def test_a_promptfoo_config_runs_on_azure_chat_with_its_api_host(
    pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_API_KEY", "promptfoo-azure-key")
    pf.makefile(".yaml", promptfooconfig=f"""\
prompts: ["Say {{{{word}}}}"]
providers:
  - id: azure:chat:prod-4o
    config: {{apiHost: "{fake_llm.url}", temperature: 0}}
tests:
  - vars: {{word: hi}}
    assert: [{{type: contains, value: hi}}]
""")

    result = pf.runpytest("-p", "no:cacheprovider", "--record-mode=all", "promptfooconfig.yaml")

    result.assert_outcomes(passed=1)
    sent = fake_llm.requests[-1]
    assert sent.path == "/openai/deployments/prod-4o/chat/completions" and sent.headers["api-key"] == "promptfoo-azure-key"
    assert sent.body["temperature"] == 0
