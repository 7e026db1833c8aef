"""Check and provider types added by a conftest through promptcheck's hooks: used in prompt files
like built-ins (negation, weights, thresholds), reported like built-ins when they go wrong, known
to ``promptcheck validate``, and never leaking from one session into the next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from promptcheck.checks.base import Verdict
from promptcheck.checks.registry import CheckRegistry
from promptcheck.cli import main
from promptcheck.config import Settings
from promptcheck.providers.registry import ProviderRegistry, resolve_target

ROOT = Path(__file__).resolve().parent.parent
WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])

MENTIONS = """\
from promptcheck.checks.base import Verdict


def mentions(output, spec, ctx):
    words = spec.value
    found = [w for w in words if w in output]
    missing = [w for w in words if w not in output]
    span = (output.index(found[0]), output.index(found[0]) + len(found[0])) if found else None
    reason = f"found {len(found)} of {len(words)}" + (f"; missing {', '.join(missing)}" if missing else "")
    return Verdict(not missing, len(found) / len(words), reason, span)


def need_words(spec):
    if not isinstance(spec.value, list) or not spec.value:
        raise ValueError("mentions needs a list of words, e.g. {mentions: [pub/sub, epoll]}")


def boom(output, spec, ctx):
    raise RuntimeError("the check has a bug")


def pytest_promptcheck_add_checks(registry):
    registry.add("mentions", mentions, validate=need_words)
    registry.add("boom", boom)
"""

ECHO_PROMPT = """\
name: P
messages: [{role: user, content: "{{text}}"}]
testData:
  - {id: all-there, inputs: {text: alpha beta}, checks: [{mentions: [alpha, beta]}]}
  - {id: one-missing, inputs: {text: alpha}, checks: [{mentions: [alpha, beta]}]}
  - {id: threshold-accepts-half, inputs: {text: alpha}, checks: [{type: mentions, value: [alpha, beta], threshold: 0.5}]}
  - {id: negated-passes, inputs: {text: delta}, checks: [{not-mentions: [alpha]}]}
  - {id: negated-fails, inputs: {text: alpha}, checks: [{not-mentions: [alpha]}]}
  - id: weight-decides
    inputs: {text: alpha}
    threshold: 0.75
    checks: [{type: mentions, value: [alpha], weight: 3}, {contains: omega}]
  - {id: crashes, inputs: {text: alpha}, checks: [boom, {not-boom: null}]}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\n')
    return pytester


@WORKERS
def test_a_conftest_check_type_gets_negation_weights_and_thresholds(project: pytest.Pytester, workers: list[str]) -> None:
    project.makeconftest(MENTIONS)
    project.makefile(".prompt.yml", p=ECHO_PROMPT)
    result = project.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=4, failed=3)
    result.stdout.fnmatch_lines_random([
        "*p.prompt.yml · case one-missing · model echo*",
        "  ✗ mentions — found 1 of 2; missing beta",
        "  ✗ not-mentions — found 1 of 1 (forbidden by not-mentions)",
        "  ✗ boom — check crashed: RuntimeError: the check has a bug",
        "  ✗ not-boom — check crashed: RuntimeError: the check has a bug",  # breaking never counts as passing
    ])
    assert "weight-decides" not in "\n".join(line for line in result.outlines if line.startswith("FAILED"))



def test_project_constraints_may_use_a_conftest_check_type(project: pytest.Pytester) -> None:
    project.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\nconstraints = [{mentions = ["alpha"]}]\n')
    project.makeconftest(MENTIONS)
    project.makefile(".prompt.yml", p="name: P\nmessages: [{role: user, content: '{{text}}'}]\ntestData: [{id: a, inputs: {text: alpha}}, {id: b, inputs: {text: beta}}]\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["  ✗ mentions — found 0 of 1; missing alpha"])

LOCAL_PROVIDER = """\
from promptcheck.providers.base import ProviderResponse


class Shouter:
    def __init__(self, target, settings):
        self.label = target.label
        self.model = target.model

    def complete(self, request):
        return ProviderResponse(text=f"{request.messages[-1][1].upper()} ({self.model})")


def pytest_promptcheck_add_providers(registry):
    registry.add("shout", Shouter, local=True)
"""


@WORKERS
def test_a_conftest_provider_type_answers_items(project: pytest.Pytester, workers: list[str]) -> None:
    project.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["shout:loud", "quiet"]\n'
        '[tool.promptcheck.providers.quiet]\ntype = "shout"\nmodel = "whisper"\n'
    )
    project.makeconftest(LOCAL_PROVIDER)
    project.makefile(".prompt.yml", p="""\
name: P
messages: [{role: user, content: "hello {{who}}"}]
testData: [{id: one, inputs: {who: ada}, checks: [{contains: HELLO ADA}]}]
""")
    result = project.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(["*pass rate:*shout:loud 100.0%*", "*pass rate:*quiet 100.0%*"])
    assert not (project.path / "cassettes").exists(), "a local provider is called, never recorded"


def test_a_recorded_provider_type_goes_through_cassettes(project: pytest.Pytester) -> None:
    project.makepyprojecttoml('[tool.promptcheck]\nmodels = ["canned:v1"]\n')
    provider = """\
from promptcheck.providers.base import ProviderResponse


class Canned:
    def __init__(self, target, settings):
        self.label = target.label

    def complete(self, request):
        {body}


def pytest_promptcheck_add_providers(registry):
    registry.add("canned", Canned)
"""
    project.makeconftest(provider.format(body='return ProviderResponse(text="the recorded answer")'))
    project.makefile(".prompt.yml", p="name: P\nmessages: [{role: user, content: hi}]\ntestData: [{id: one, inputs: {}, checks: [{contains: recorded}]}]\n")
    missing = project.runpytest("-p", "no:cacheprovider")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(["*no recorded answer for p.prompt.yml::one?canned:v1? in *Record it with: pytest p.prompt.yml --record-mode=new*"])
    project.runpytest("-p", "no:cacheprovider", "--record-mode=new").assert_outcomes(passed=1)
    # Replayed from the cassette: the provider is never called again.
    project.makeconftest(provider.format(body='raise AssertionError("called during replay")'))
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_provider_whose_constructor_fails_is_that_models_error(project: pytest.Pytester) -> None:
    project.makepyprojecttoml('[tool.promptcheck]\nmodels = ["broken:x", "echo"]\n')
    project.makeconftest("""\
def broken(target, settings):
    raise KeyError("BROKEN_API_URL")


def pytest_promptcheck_add_providers(registry):
    registry.add("broken", broken, local=True)
""")
    project.makefile(".prompt.yml", p="name: P\nmessages: [{role: user, content: hi}]\ntestData: [{id: one, inputs: {}, checks: [{contains: hi}]}]\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["provider error: model 'broken:x': provider type 'broken' failed to start: KeyError: 'BROKEN_API_URL'"])


def test_an_unregistered_provider_type_names_the_known_ones(project: pytest.Pytester) -> None:
    project.makepyprojecttoml('[tool.promptcheck]\nmodels = ["shout:loud"]\n')
    project.makefile(".prompt.yml", p="name: P\nmessages: [{role: user, content: hi}]\ntestData: [{id: one, inputs: {}, checks: [{contains: hi}]}]\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "provider error: model 'shout:loud': unknown provider type 'shout'; use one of anthropic, azure, bedrock, compatible, "
        "echo, gemini, github, google, ollama, openai, python, reference, vertex, or configure [[]tool.promptcheck.providers.\"shout:loud\"] with type, model and base_url"
    ])


# -- error paths -----------------------------------------------------------------------------------


@WORKERS
def test_a_check_type_named_like_a_builtin_is_a_usage_error(project: pytest.Pytester, workers: list[str]) -> None:
    project.makeconftest("""\
def pytest_promptcheck_add_checks(registry):
    registry.add("regex", lambda output, spec, ctx: None)
""")
    result = project.runpytest("-p", "no:cacheprovider", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: promptcheck: pytest_promptcheck_add_checks failed in conftest.py:2: "
        "ValueError: check type 'regex' is a built-in check type; give yours another name"
    ])


def test_a_hook_that_raises_is_a_usage_error_naming_it(project: pytest.Pytester) -> None:
    project.makeconftest("""\
import os


def pytest_promptcheck_add_providers(registry):
    registry.add("gateway", os.environ["GATEWAY_FACTORY"])
""")
    result = project.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: promptcheck: pytest_promptcheck_add_providers failed in conftest.py:5: KeyError: 'GATEWAY_FACTORY'"])


def test_an_unknown_check_type_still_suggests_the_closest_one(project: pytest.Pytester) -> None:
    project.makeconftest(MENTIONS)
    project.makefile(".prompt.yml", p="""\
name: P
messages: [{role: user, content: hi}]
testData:
  - id: one
    inputs: {}
    checks:
      - {mention: [hi]}
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["p.prompt.yml:7:9: unknown check type 'mention'; known types: *, mentions, *; did you mean 'mentions'?"])


@WORKERS
def test_a_conftest_validator_rejects_a_value_at_collection(project: pytest.Pytester, workers: list[str]) -> None:
    project.makeconftest(MENTIONS)
    project.makefile(".prompt.yml", p="""\
name: P
messages: [{role: user, content: hi}]
testData:
  - id: one
    inputs: {}
    checks:
      - contains: hi
      - {mentions: hi}
""")
    result = project.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["p.prompt.yml:8:9: mentions needs a list of words, e.g. {mentions: [pub/sub, epoll]}"])


def test_check_types_do_not_leak_into_the_next_session(project: pytest.Pytester) -> None:
    project.makeconftest(MENTIONS + "\n\n" + LOCAL_PROVIDER)
    project.makefile(".prompt.yml", p="""\
name: P
models: [echo, "shout:loud"]
messages: [{role: user, content: alpha}]
testData: [{id: one, inputs: {}, checks: [{icontains-any: [alpha]}]}]
""")
    project.makefile(".prompt.yml", q="""\
name: Q
model: echo
messages: [{role: user, content: alpha}]
testData: [{id: one, inputs: {}, checks: [{mentions: [alpha]}]}]
""")
    project.makepyprojecttoml("[tool.promptcheck]\n")
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    (project.path / "conftest.py").unlink()
    # The same process, a new session without the conftest: its types are gone.
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines_random([
        "q.prompt.yml:4:43: unknown check type 'mentions'; known types: *",
        "provider error: model 'shout:loud': unknown provider type 'shout'*",
    ])


# -- promptcheck validate ---------------------------------------------------------------------------


@pytest.fixture
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_validate(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, list[str], str]:
    code = main(["validate", *paths])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_validate_knows_the_conftest_check_types(cli_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_project / "conftest.py").write_text(MENTIONS)
    (cli_project / "p.prompt.yml").write_text(
        "name: P\nmessages: [{role: user, content: hi}]\n"
        "testData: [{id: one, inputs: {}, checks: [{mentions: [hi]}, {not-mentions: [bye]}, {mentions: hi}]}]\n"
    )
    code, lines, err = run_validate(capsys, "p.prompt.yml")
    assert (code, err) == (1, "")
    assert lines == ["p.prompt.yml:3:84: mentions needs a list of words, e.g. {mentions: [pub/sub, epoll]}",
                     "1 file checked: 1 with problems (1 error)"]


def test_validate_says_when_the_conftest_cannot_be_imported(cli_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_project / "conftest.py").write_text("import os\nimport promptcheck_missing_helper\n")
    (cli_project / "p.prompt.yml").write_text("name: P\nmessages: [{role: user, content: hi}]\n")
    code, lines, err = run_validate(capsys, "p.prompt.yml")
    assert (code, lines) == (2, [])
    assert err == "promptcheck: cannot import conftest.py:2: ModuleNotFoundError: No module named 'promptcheck_missing_helper'\n"


def test_validate_reports_a_hook_that_raises(cli_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_project / "conftest.py").write_text("def pytest_promptcheck_add_checks(registry):\n    registry.add('not-regex', print)\n")
    (cli_project / "p.prompt.yml").write_text("name: P\nmessages: [{role: user, content: hi}]\n")
    code, lines, err = run_validate(capsys, "p.prompt.yml")
    assert (code, lines) == (2, [])
    assert err == (
        "promptcheck: pytest_promptcheck_add_checks failed in conftest.py:2: ValueError: check type name 'not-regex' "
        "must not start with 'not-': every check type can be negated with it\n"
    )


def test_the_example_validates_only_with_its_conftest(cli_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("prompts", "cases"):
        shutil.copytree(ROOT / name, cli_project / name)
    for name in ("pyproject.toml", "conftest.py"):
        shutil.copy(ROOT / name, cli_project / name)
    assert run_validate(capsys, "prompts", "cases") == (0, ["4 files checked: no problems"], "")
    (cli_project / "conftest.py").unlink()
    code, lines, _ = run_validate(capsys, "prompts", "cases")
    assert code == 1 and lines[-1] == "4 files checked: 1 with problems (4 errors)"
    assert all("unknown check type 'bold-decisions'" in line for line in lines[:-1])


# -- the registries themselves ------------------------------------------------------------------------


def test_the_builtin_registries_are_shared_and_read_only() -> None:
    assert CheckRegistry.builtin() is CheckRegistry.builtin()
    with pytest.raises(RuntimeError, match="add check types to a copy of it"):
        CheckRegistry.builtin().add("mine", lambda output, spec, ctx: Verdict(True, 1.0, "ok"))
    with pytest.raises(RuntimeError, match="add provider types to a copy of it"):
        ProviderRegistry.builtin().add("mine", lambda target, settings: None)  # type: ignore[arg-type, return-value]
    extended = CheckRegistry.builtin().copy()
    extended.add("mine", lambda output, spec, ctx: Verdict(True, 1.0, "ok"))
    assert "mine" in extended and "mine" not in CheckRegistry.builtin()
    with pytest.raises(ValueError, match="check type 'mine' is already registered; give yours another name"):
        extended.add("mine", lambda output, spec, ctx: Verdict(True, 1.0, "ok"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("two words", "check type name 'two words' must be one word"),
        ("not-mine", "must not start with 'not-'"),
        ("", "check type name '' must be one word"),
    ],
)
def test_check_type_names_must_be_writable_in_a_prompt_file(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CheckRegistry.builtin().copy().add(name, lambda output, spec, ctx: Verdict(True, 1.0, "ok"))


def test_a_label_names_its_provider_type_by_its_prefix() -> None:
    settings = Settings(model_map={"house": "gateway:llama-3"})
    assert (resolve_target("gateway:llama-3", settings).provider, resolve_target("gateway:llama-3", settings).model) == ("gateway", "llama-3")
    assert resolve_target("house", settings).label == "gateway:llama-3"
    assert resolve_target("gpt-4o:2024", settings).provider == "openai"  # bare model names keep their meaning
    assert resolve_target("mystery-7b", settings).provider == ""

