"""promptfoo's provider config keys for the cloud providers (apiVersion, region, projectId) reach
the SDK clients: seen at FakeLLM, in the URL and signature each client builds from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakellm import FakeLLM

QUIET = ("-p", "no:cacheprovider", "--record-mode=all", "promptfooconfig.yaml")


def _config(pf: pytest.Pytester, provider: str, config: dict[str, object]) -> None:
    pf.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["Say {{word}}"],
        "providers": [{"id": provider, "config": config}],
        "tests": [{"vars": {"word": "hi"}, "assert": [{"type": "contains", "value": "hi"}]}],
    }))


def test_azure_api_version_from_a_promptfoo_config(pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_KEY", "promptfoo-azure-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")  # the config wins over it
    _config(pf, "azure:chat:prod-4o", {"apiHost": fake_llm.url, "apiVersion": "2025-01-01-preview"})

    pf.runpytest(*QUIET).assert_outcomes(passed=1)

    sent = fake_llm.requests[-1]
    assert (sent.path, sent.query) == ("/openai/deployments/prod-4o/chat/completions", "api-version=2025-01-01-preview")


def test_bedrock_region_from_a_promptfoo_config(
    pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # the config wins over it
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    _config(pf, f"bedrock:{model}", {"apiBaseUrl": fake_llm.url, "region": "eu-west-3"})

    pf.runpytest(*QUIET).assert_outcomes(passed=1)

    sent = fake_llm.requests[-1]
    assert sent.path == f"/model/{model}/invoke"
    assert "/eu-west-3/bedrock/aws4_request" in sent.headers["authorization"]


def test_vertex_project_id_and_region_from_a_promptfoo_config(pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", "test-access-token")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "env-project")  # the config wins over these
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    _config(pf, "vertex:claude-3-5-haiku@20241022", {"apiBaseUrl": fake_llm.url, "projectId": "p1", "region": "europe-west1"})

    pf.runpytest(*QUIET).assert_outcomes(passed=1)

    assert fake_llm.requests[-1].path == "/projects/p1/locations/europe-west1/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict"


def test_without_the_keys_the_environment_decides(pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", "test-access-token")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "env-project")
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    _config(pf, "vertex:claude-3-5-haiku@20241022", {"apiBaseUrl": fake_llm.url})

    pf.runpytest(*QUIET).assert_outcomes(passed=1)

    assert fake_llm.requests[-1].path.startswith("/projects/env-project/locations/us-east5/")


def test_azure_api_base_url_wins_over_api_host_as_in_promptfoo(pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_KEY", "promptfoo-azure-key")
    _config(pf, "azure:chat:prod-4o", {"apiHost": "nowhere.invalid", "apiBaseUrl": fake_llm.url})

    pf.runpytest(*QUIET).assert_outcomes(passed=1)

    assert fake_llm.requests[-1].path == "/openai/deployments/prod-4o/chat/completions"
