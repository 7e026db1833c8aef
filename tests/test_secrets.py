"""Keys stay secret (issue 14, items 7 and 8): a server that echoes the credential it was sent puts
it in no output, and provider settings send the key the user configured, and only there.

Test keys are not shaped like real ones (no ``sk-``), so only the redaction of configured keys
can catch them, not the patterns that catch a key by its look."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from fakebatch import FakeBatchLLM
from fakellm import FakeLLM, echo_last_user_message
from liveproject import FAST, Project

from promptcheck.cli import main
from promptcheck.config import Settings, load_file_settings
from promptcheck.formats.promptfoo.providers import Provider, add_provider
from promptcheck.providers.base import ProviderRequest
from promptcheck.providers.batch.runner import run_batches
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.factory import ProviderFactory
from promptcheck.pytest_plugin.progress import Progress
from promptcheck.spec import PromptSpec


def fresh_key(name: str) -> str:
    """A key no earlier test (or process) has seen, so nothing remembered it before."""
    return f"pc-{name}-{uuid.uuid4().hex[:16]}"


def leaks(root: Path, texts: list[str], keys: list[str], written_by_user: tuple[str, ...] = ()) -> list[str]:
    """Where any of ``keys`` appears: in a file below ``root`` (but those the user wrote) or in
    one of ``texts`` (the output)."""
    found = [f"output {i}" for i, text in enumerate(texts) for key in keys if key in text]
    for path in root.rglob("*"):
        if path.is_file() and path.name not in written_by_user:
            content = path.read_bytes().decode("utf-8", "replace")
            found += [str(path.relative_to(root)) for key in keys if key in content]
    return found


# -- item 7: an echoed key reaches no output --------------------------------------------------------


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_key_echoed_in_a_401_body_reaches_no_output(live_project: Project, monkeypatch: pytest.MonkeyPatch, workers: list[str]) -> None:
    fake = live_project.fake
    gateway_key, claude_key = fresh_key("gateway"), fresh_key("claude")
    # MY_LLM_CRED: a variable name no scan of the environment takes for a secret.
    monkeypatch.setenv("MY_LLM_CRED", gateway_key)
    monkeypatch.setenv("ANTHROPIC_API_KEY", claude_key)
    providers = (
        f'[tool.promptcheck.providers.gpt]\ntype = "openai"\nmodel = "gpt-4o"\nbase_url = "{fake.openai_base_url}"\n'
        'api_key_env = "MY_LLM_CRED"\n'
        f'[tool.promptcheck.providers.claude]\ntype = "anthropic"\nmodel = "claude-3-5-haiku-20241022"\nbase_url = "{fake.anthropic_base_url}"\n'
    )
    live_project.configure(settings=FAST.replace("max_retries = 1", "max_retries = 0"), providers=providers, models='["gpt", "claude"]')
    fake.script(["401echo"] * 6)

    result = live_project.run("--record-mode=new", "--junitxml=junit.xml", "-rA", *workers)

    result.assert_outcomes(errors=6)
    sent = {r.headers["authorization"] for r in fake.requests}
    assert sent == {f"Bearer {gateway_key}", f"Bearer {claude_key}"}, "the keys really were sent, and echoed"
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of ada [[]gpt[]]*",
            "provider error: gpt: HTTP 401 (authentication failed): invalid credentials: Bearer [[]REDACTED[]]",
            "NOT EVALUATED 3 items — provider error: claude: HTTP 401 (authentication failed): "
            "invalid credentials: Bearer [[]REDACTED[]] (*",
        ],
        consecutive=False,
    )
    root = live_project.pytester.path
    written = {p.name for p in root.rglob("*") if p.is_file()}
    assert {"junit.xml", "index.html"} <= written and any(name.endswith(".json") for name in written)
    assert "REDACTED" in (root / "junit.xml").read_text(encoding="utf-8")
    assert leaks(root, [result.stdout.str(), result.stderr.str()], [gateway_key, claude_key]) == []


def test_an_answer_that_repeats_a_configured_key_is_redacted_in_the_cassette_too(
    live_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fresh_key("answer")
    monkeypatch.setenv("MY_ANSWER_CRED", key)  # not a name the environment scan knows
    providers = (
        f'[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "{live_project.fake.openai_base_url}"\n'
        'api_key_env = "MY_ANSWER_CRED"\n'
    )
    live_project.configure(providers=providers)
    live_project.fake.responder = lambda kind, body: f"{echo_last_user_message(kind, body)} (your key is {key})"

    result = live_project.run("--record-mode=new", "--junitxml=junit.xml")

    result.assert_outcomes(passed=3)
    assert "[REDACTED]" in live_project.cassette().read_text(encoding="utf-8")
    assert leaks(live_project.pytester.path, [result.stdout.str(), result.stderr.str()], [key]) == []


def test_a_key_echoed_without_its_scheme_in_a_promptfoo_provider_error_is_redacted(
    pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key is written in the config itself (promptfoo allows it) and echoed bare by the server.
    key = fresh_key("pf")
    fake_llm.responder = lambda kind, body: "unused"
    fake_llm.script(["401echo"])
    monkeypatch.setenv("OPENAI_API_KEY", fresh_key("env"))
    pf.makefile(
        ".yaml",
        promptfooconfig=f"""
prompts: ["Say hi to {{{{name}}}}"]
providers:
  - id: openai:chat:gpt-4o-mini
    label: proxy
    config: {{apiBaseUrl: "{fake_llm.openai_base_url}", apiKey: "{key}", headers: {{X-Echo-Key: "{key}"}}}}
tests:
  - vars: {{name: Ada}}
""",
    )
    result = pf.runpytest("-p", "no:cacheprovider", "--record-mode=new", "--junitxml=junit.xml")

    result.assert_outcomes(errors=1)
    assert fake_llm.requests[0].headers["authorization"] == f"Bearer {key}"
    result.stdout.fnmatch_lines(["provider error: proxy: HTTP 401 (authentication failed): invalid credentials: Bearer [[]REDACTED[]]"])
    assert leaks(pf.path, [result.stdout.str(), result.stderr.str()], [key], written_by_user=("promptfooconfig.yaml",)) == []


def test_batch_errors_that_echo_a_key_are_redacted(tmp_path: Path, fake_api_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = fresh_key("batch")
    monkeypatch.setenv("BATCH_GATEWAY_CRED", key)
    with FakeBatchLLM() as fake:
        fake.error_text = f"invalid credentials: {key}"
        fake.outcome = lambda body: "errored"
        providers = {
            "gpt": {"type": "openai", "model": "gpt-4o", "base_url": fake.openai_base_url, "api_key_env": "BATCH_GATEWAY_CRED"},
            "claude": {"type": "anthropic", "model": "claude-3-5-haiku-20241022", "base_url": fake.anthropic_base_url},
        }
        settings = Settings(rootdir=tmp_path, providers=providers, record_mode="new", max_retries=0, timeout_s=5)
        made = ProviderFactory(settings, CassetteStore(tmp_path / "cassettes", run_id="r", flush_interval_s=0))
        requests = [
            ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),), item_id="p::a[gpt]"),
            ProviderRequest("anthropic", "claude-3-5-haiku-20241022", "claude", (("user", "hi"),), item_id="p::a[claude]"),
        ]
        fake.reject = "anthropic"  # the batch call itself is refused, with the key in the message
        lines: list[str] = []
        results = run_batches(requests, made, tmp_path / "batches", run_id="r", poll_s=0.001, progress=lines.append)

    reasons = {label: reason for (label, _), reason in results.failures.items()}
    assert reasons["claude"] == "batch not run: claude: HTTP 401 (authentication failed): invalid credentials: [REDACTED]"
    assert re.fullmatch(r"gpt: batch batch_\w+: HTTP 404: invalid credentials: \[REDACTED\]", reasons["gpt"]), reasons["gpt"]
    assert leaks(tmp_path, [*results.failures.values(), *lines], [key]) == []


class _Reporter:
    isatty = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


class _Config:
    def __init__(self, reporter: _Reporter) -> None:
        self.pluginmanager = self
        self.reporter = reporter

    def get_plugin(self, name: str) -> _Reporter:
        return self.reporter

    def get_verbosity(self) -> int:
        return 0


def test_progress_lines_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fresh_key("progress")
    monkeypatch.setenv("PROGRESS_API_KEY", key)  # found by the environment scan
    reporter = _Reporter()
    progress = Progress(_Config(reporter))  # type: ignore[arg-type]

    progress.status(f"promptcheck batch: gpt: failed: invalid credentials: {key}", force=True)
    progress.done(f"promptcheck batch: 0 answers recorded, 1 failed ({key})")

    assert reporter.lines == [
        "promptcheck batch: gpt: failed: invalid credentials: [REDACTED]",
        "promptcheck batch: 0 answers recorded, 1 failed ([REDACTED])",
    ]


# -- item 8: provider settings send the configured key, and only there ----------------------------


def promptfoo_provider(fake: FakeLLM, config: str) -> str:
    return f"""
prompts: ["Say hi to {{{{name}}}}"]
providers:
  - id: openai:chat:gpt-4o-mini
    label: proxy
    config: {{apiBaseUrl: "{fake.openai_base_url}", {config}}}
tests:
  - vars: {{name: Ada}}
    assert: [{{type: icontains, value: ada}}]
"""


@pytest.mark.parametrize(
    ("config", "sent"),
    [
        ('apiKey: "pc-config-key-0001", apiKeyEnvar: PF_OTHER_KEY', "Bearer pc-config-key-0001"),
        ("apiKeyEnvar: PF_OTHER_KEY", "Bearer pc-other-key-0002"),
        ("temperature: 0", "Bearer pc-openai-env-0003"),
        ('apiKey: "{{ env.PF_OTHER_KEY }}"', "Bearer pc-other-key-0002"),
    ],
    ids=["apiKey-wins", "apiKeyEnvar-over-OPENAI_API_KEY", "OPENAI_API_KEY-last", "apiKey-from-env-template"],
)
def test_a_promptfoo_provider_sends_the_key_promptfoo_would(
    pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, config: str, sent: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "pc-openai-env-0003")
    monkeypatch.setenv("PF_OTHER_KEY", "pc-other-key-0002")
    pf.makefile(".yaml", promptfooconfig=promptfoo_provider(fake_llm, config))

    pf.runpytest("-p", "no:cacheprovider", "--record-mode=new").assert_outcomes(passed=1)

    assert [r.headers["authorization"] for r in fake_llm.requests] == [sent]


def test_a_promptfoo_providers_headers_are_sent_and_may_replace_authorization(
    pf: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "pc-openai-env-0004")
    monkeypatch.setenv("GATEWAY_TOKEN", "pc-gateway-token-0005")
    headers = 'headers: {X-Team: search, Authorization: "Bearer {{ env.GATEWAY_TOKEN }}"}'
    pf.makefile(".yaml", promptfooconfig=promptfoo_provider(fake_llm, headers))

    pf.runpytest("-p", "no:cacheprovider", "--record-mode=new").assert_outcomes(passed=1)

    (request,) = fake_llm.requests
    assert (request.headers["x-team"], request.headers["authorization"]) == ("search", "Bearer pc-gateway-token-0005")
    assert "pc-openai-env-0004" not in str(request.headers), "the env key is not sent"


def test_promptfoo_api_host_wins_over_api_base_url() -> None:
    # promptfoo: apiHost is a host name, reached as https://<host>/v1, before apiBaseUrl.
    spec = PromptSpec(name="p", path="promptfooconfig.yaml", messages=[])
    add_provider(spec, Provider("openai:gpt-4o", "a", {"apiHost": "gw.example", "apiBaseUrl": "http://other/v1"}))
    add_provider(spec, Provider("openai:gpt-4o", "b", {"apiBaseUrl": "http://other/v1"}))
    assert [spec.model_refs[label].base_url for label in ("a", "b")] == ["https://gw.example/v1", "http://other/v1"]


def test_pyproject_headers_are_sent_with_values_from_the_environment(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    token = fresh_key("hdr")
    monkeypatch.setenv("GATEWAY_TOKEN", token)
    providers = (
        f'[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "{live_project.fake.openai_base_url}"\n'
        'headers = { "X-Team" = "search", "Authorization" = "Bearer ${GATEWAY_TOKEN}" }\n'
    )
    live_project.configure(providers=providers)
    live_project.prompt(["Ada"])

    live_project.run("--record-mode=new").assert_outcomes(passed=1)

    (request,) = live_project.fake.requests
    assert (request.headers["x-team"], request.headers["authorization"]) == ("search", f"Bearer {token}")


def test_a_header_naming_an_unset_variable_is_that_models_error(live_project: Project) -> None:
    providers = (
        f'[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "{live_project.fake.openai_base_url}"\n'
        'headers = { "Authorization" = "Bearer ${PC_UNSET_TOKEN}" }\n'
    )
    live_project.configure(providers=providers)
    live_project.prompt(["Ada"])

    result = live_project.run("--record-mode=new")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["model 'local': header 'Authorization' uses the environment variable PC_UNSET_TOKEN, which is not set"])
    assert live_project.fake.requests == []


# -- item 8: pyproject.toml provider tables --------------------------------------------------------

BAD_TABLES = {
    "typo": (
        'base_ulr = "http://127.0.0.1:9/v1"',
        "providers.local: unknown key 'base_ulr'; did you mean base_url? (known keys: type, model, base_url, api_key_env, "
        "headers, params, timeout_s, max_retries, requests_per_minute)",
    ),
    "literal-key": (
        'api_key = "sk-live-abcdefghijklmnopqrstuvwx"',
        "providers.local: 'api_key' would put a key in pyproject.toml, which is refused; keys belong in the environment: "
        'set it in a variable and name that with api_key_env = "MY_API_KEY"',
    ),
    "literal-key-camel": (
        'apiKey = "sk-live-abcdefghijklmnopqrstuvwx"',
        "providers.local: 'apiKey' would put a key in pyproject.toml, which is refused; keys belong in the environment: "
        'set it in a variable and name that with api_key_env = "MY_API_KEY"',
    ),
    "literal-auth-header": (
        'headers = { Authorization = "Bearer sk-live-abcdefghijklmnopqrstuvwx" }',
        "providers.local: header 'Authorization' holds a credential written into pyproject.toml, which is refused; "
        'refer to an environment variable instead, e.g. "Bearer ${GATEWAY_TOKEN}"',
    ),
    "headers-not-strings": (
        "headers = { X-Retries = 3 }",
        'providers.local: headers must be a table of strings, e.g. headers = { "X-Team" = "search" }',
    ),
}


def bad_table_project(pytester: pytest.Pytester, line: str) -> None:
    pytester.makepyprojecttoml(
        f'[tool.promptcheck]\nmodels = ["local"]\n[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\n{line}\n'
    )
    pytester.makefile(".prompt.yml", greet="name: G\nmessages: [{role: user, content: hi}]\ntestData: [{id: a}]\n")


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_a_bad_provider_table_is_a_usage_error_under_pytest(pytester: pytest.Pytester, case: str) -> None:
    line, message = BAD_TABLES[case]
    bad_table_project(pytester, line)

    result = pytester.runpytest("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line] == [f"ERROR: promptcheck: pyproject.toml [tool.promptcheck]: {message}"]
    assert "sk-live" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_a_bad_provider_table_is_a_usage_error_in_validate(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    line, message = BAD_TABLES[case]
    bad_table_project(pytester, line)

    code = main(["validate", "."])

    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"promptcheck: pyproject.toml [tool.promptcheck]: {message}\n")


def test_a_plugin_provider_type_keeps_its_own_keys(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\n[tool.promptcheck.providers.gw]\ntype = "gateway"\nmodel = "m"\nregion = "eu"\n')
    assert load_file_settings(pytester.path).providers["gw"]["region"] == "eu"


@pytest.mark.parametrize(
    "table, problem",
    [
        ({"type": "azure", "model": "d", "api_version": "2024-06-01"}, None),
        ({"type": "vertex", "model": "claude-sonnet-4", "region": "europe-west1", "project_id": "p"}, None),
        (
            {"type": "bedrock", "model": "anthropic.claude-3-haiku", "regoin": "eu-west-1"},
            "providers.cloud: unknown key 'regoin'; did you mean region? (known keys: type, model, base_url, "
            "api_key_env, headers, params, timeout_s, max_retries, requests_per_minute, region)",
        ),
        (
            {"type": "openai", "model": "gpt-4o", "api_version": "2024-06-01"},
            "providers.cloud: unknown key 'api_version' (known keys: type, model, base_url, api_key_env, headers, "
            "params, timeout_s, max_retries, requests_per_minute)",
        ),
    ],
    ids=["azure-api-version", "vertex-region-project", "bedrock-typo", "api-version-only-for-azure"],
)
def test_keys_only_some_provider_types_read(table: dict[str, str], problem: str | None) -> None:
    from promptcheck.provider_settings import provider_table_problem

    assert provider_table_problem("cloud", table) == problem
