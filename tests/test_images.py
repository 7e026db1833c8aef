"""Images in prompts (issue 16): content parts in OpenAI / GitHub Models form reach the real
OpenAI and Anthropic SDKs as each API's image parts, cassettes key them by content hash and
never hold their bytes, promptfoo's ``file://image.png`` vars load, and every unusable image
is an error naming it."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakellm import FakeLLM, describe_images, two_provider_pyproject
from liveproject import run_record

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))  # 72 bytes: only the signature matters to anyone here
GIF = b"GIF89a" + bytes(10)  # 16 bytes
GIF_URI = "data:image/gif;base64," + base64.b64encode(GIF).decode()
REMOTE = "https://example.com/cat.jpg"
SEEN = f"Describe Tom. | 3 images: image/png 72 bytes, image/gif 16 bytes, url {REMOTE}"


def look_prompt(picture: str = "img/cat.png", expected: str = SEEN, url: str = "file://{{picture}}") -> str:
    return f"""\
name: Look
messages:
  - role: system
    content: You describe pictures.
  - role: user
    content:
      - type: text
        text: "Describe {{{{name}}}}."
      - type: image_url
        image_url: {{url: "{url}"}}
      - {{type: image_url, image_url: {{url: "{GIF_URI}"}}}}
      - {{type: image_url, image_url: {{url: "{REMOTE}"}}}}
testData:
  - name: Tom
    picture: {picture}
evaluators:
  - name: saw the images
    string: {{contains: "{expected}"}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None) -> pytest.Pytester:
    """Models ``gpt`` (OpenAI SDK) and ``claude`` (Anthropic SDK) at the fake, which answers
    with the images it received; prompts/look.prompt.yml shows it prompts/img/cat.png."""
    fake_llm.responder = describe_images
    settings = 'models = ["gpt", "claude"]\nmax_retries = 1\ntimeout_s = 5\n'
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm).replace('models = ["gpt", "claude"]\n', settings))
    image = pytester.path / "prompts" / "img" / "cat.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(PNG)
    (pytester.path / "prompts" / "look.prompt.yml").write_text(look_prompt(), encoding="utf-8")
    return pytester


def cassette_texts(pytester: pytest.Pytester) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in (pytester.path / "cassettes").rglob("*.yaml")}


def user_content(fake: FakeLLM, kind: str) -> Any:
    body = next(r.body for r in fake.requests if r.kind == kind)
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_images_reach_both_sdks_then_replay_offline(project: pytest.Pytester, fake_llm: FakeLLM, workers: list[str]) -> None:
    project.runpytest(*QUIET, "--record-mode=new", *workers).assert_outcomes(passed=2)

    openai_parts = user_content(fake_llm, "openai")
    assert openai_parts[0] == {"type": "text", "text": "Describe Tom."}
    assert openai_parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}}
    assert openai_parts[2] == {"type": "image_url", "image_url": {"url": GIF_URI}}
    assert openai_parts[3] == {"type": "image_url", "image_url": {"url": REMOTE}}
    claude_parts = user_content(fake_llm, "anthropic")
    assert claude_parts[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert claude_parts[3] == {"type": "image", "source": {"type": "url", "url": REMOTE}}
    assert next(r.body for r in fake_llm.requests if r.kind == "anthropic")["system"] == "You describe pictures."

    fake_llm.stop()  # any call now fails: a pass proves the answers were replayed
    project.runpytest(*QUIET, "--record-mode=none", *workers).assert_outcomes(passed=2)
    assert len(fake_llm.requests) == 2


def test_a_cassette_shows_each_image_by_hash_and_never_holds_its_bytes(project: pytest.Pytester) -> None:
    project.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=2)

    texts = cassette_texts(project)
    assert sorted(texts) == ["claude", "gpt"]
    for text in texts.values():
        assert base64.b64encode(PNG).decode() not in text
        assert base64.b64encode(GIF).decode() not in text
        assert "base64" not in text
        entry = next(iter(yaml.safe_load(text)["entries"].values()))
        user = entry["request"]["messages"][1]
        assert user["content"] == "Describe Tom."
        assert user["parts"] == [
            {"type": "text", "text": "Describe Tom."},
            {"type": "image", "sha256": hashlib.sha256(PNG).hexdigest(), "media_type": "image/png", "bytes": 72},
            {"type": "image", "sha256": hashlib.sha256(GIF).hexdigest(), "media_type": "image/gif", "bytes": 16},
            {"type": "image", "url": REMOTE},
        ]
        assert f"{{type: image, url: '{REMOTE}'}}" in text or f"{{type: image, url: {REMOTE}}}" in text  # one line each


def test_the_run_record_and_the_report_show_where_each_image_was_sent(project: pytest.Pytester) -> None:
    result = project.runpytest(*QUIET, "--record-mode=new")
    result.assert_outcomes(passed=2)
    png, gif = (hashlib.sha256(data).hexdigest()[:12] for data in (PNG, GIF))
    shown = f"Describe Tom.\n[image: img/cat.png, image/png, 72 bytes, sha256 {png}]\n" \
            f"[image: a data: URI, image/gif, 16 bytes, sha256 {gif}]\n[image: {REMOTE}]"
    for item in run_record(project.path, result).items:
        assert item.messages == (("system", "You describe pictures."), ("user", shown))
    data = "".join(p.read_text(encoding="utf-8") for p in (project.path / "reports").glob("*-data/*.js"))
    assert json.dumps(shown, ensure_ascii=False) in data  # the rendered prompt of each item's details
    assert base64.b64encode(PNG).decode() not in data


def test_the_same_image_under_another_path_replays_and_a_changed_image_misses(project: pytest.Pytester, fake_llm: FakeLLM) -> None:
    project.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=2)
    fake_llm.stop()
    moved = project.path / "prompts" / "other" / "renamed.png"
    moved.parent.mkdir()
    (project.path / "prompts" / "img" / "cat.png").rename(moved)
    (project.path / "prompts" / "look.prompt.yml").write_text(look_prompt("other/renamed.png"), encoding="utf-8")

    project.runpytest(*QUIET, "--record-mode=none").assert_outcomes(passed=2)

    moved.write_bytes(PNG + b"!")
    result = project.runpytest(*QUIET, "--record-mode=none")

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*no recorded answer for prompts/look.prompt.yml::tom*"])


def test_text_only_prompts_keep_their_cassette_keys() -> None:
    from promptcheck.providers.base import ProviderRequest

    request = ProviderRequest(provider="openai", model="gpt-4o", label="gpt", messages=(("user", "hi"),))
    assert sorted(request.canonical()) == ["messages", "model", "params", "provider", "repeat_index", "response_format"]


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, files, message",
    [
        ("file://img/missing.png", {}, "image 'img/missing.png': file not found (looked in */prompts)"),
        ("file://img/cat.bmp", {"img/cat.bmp": PNG}, "image 'img/cat.bmp': unknown image type '.bmp' (use .png, .jpg, .jpeg, .gif, .webp)"),
        ("file://img/big.png", {"img/big.png": None}, "image 'img/big.png': 21.0 MB, over the 20.0 MB limit for an image"),
        ("ftp://example.com/cat.png", {}, "image url must be https://, data: or file://, got 'ftp://example.com/cat.png'"),
        ("data:image/tiff;base64,AAAA", {}, "image data: URI: media type 'image/tiff' is not supported (use image/gif, image/jpeg, image/png, image/webp)"),
        ("data:image/png;base64,@@@", {}, "image data: URI is not valid base64"),
    ],
    ids=["missing", "unknown-type", "too-big", "scheme", "data-type", "data-base64"],
)
def test_an_unusable_image_is_a_collection_error_naming_it(
    echo_project: pytest.Pytester, url: str, files: dict[str, bytes | None], message: str
) -> None:
    for name, data in files.items():
        path = echo_project.path / "prompts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            with path.open("wb") as handle:  # sparse: 21 MB on paper, nothing on disk
                handle.truncate(21 * 1024 * 1024)
        else:
            path.write_bytes(data)
    (echo_project.path / "prompts").mkdir(exist_ok=True)
    (echo_project.path / "prompts" / "look.prompt.yml").write_text(look_prompt(url=url), encoding="utf-8")

    result = echo_project.runpytest(*QUIET)

    result.stdout.fnmatch_lines(["*ERROR collecting prompts/look.prompt.yml*", f"*case 'tom': {message}*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    "parts, message",
    [
        ('[{type: audio, data: x}]', "message 1: content part 1: type must be one of text, image_url, got 'audio'"),
        ('[{type: image_url, image_url: {}}]', "message 1: content part 1: an image_url part needs 'image_url: {url: ...}' with the URL as a string"),
        ('[{type: text}]', "message 1: content part 1: a text part needs 'text' as a string"),
        ('["hi"]', "message 1: content part 1 must be a {type, ...} mapping, got a string"),
        ("[]", "message 1: 'content' is an empty list of parts"),
    ],
    ids=["type", "image-url", "text", "not-a-mapping", "empty"],
)
def test_a_malformed_part_is_an_error_at_its_message(echo_project: pytest.Pytester, parts: str, message: str) -> None:
    echo_project.makefile(".prompt.yml", bad=f"messages:\n  - role: user\n    content: {parts}\ntestData:\n  - {{x: 1}}\n")

    result = echo_project.runpytest(*QUIET)

    result.stdout.fnmatch_lines(["*ERROR collecting bad.prompt.yml*", f"bad.prompt.yml:2:5: {message}"])


def test_an_undefined_variable_in_an_image_url_is_named(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        bad="messages:\n  - role: user\n    content:\n      - {type: text, text: Look}\n"
        "      - {type: image_url, image_url: {url: 'file://{{pic}}'}}\ntestData:\n  - {x: 1}\n",
    )

    result = echo_project.runpytest(*QUIET)

    result.stdout.fnmatch_lines(["*case '*' does not define template variable 'pic' (used in message 1, user)*"])


# -- promptfoo -------------------------------------------------------------------------------------


def promptfoo_project(pytester: pytest.Pytester, fake: FakeLLM, url: str) -> None:
    pytester.makepyprojecttoml("[tool.promptcheck]\nmax_retries = 1\ntimeout_s = 5\n")
    (pytester.path / "cat.png").write_bytes(PNG)
    chat = [
        {"role": "user", "content": [
            {"type": "text", "text": "What is {{ thing }}?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]},
    ]
    (pytester.path / "chat.json").write_text(json.dumps(chat), encoding="utf-8")
    pytester.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["file://chat.json"],
        "providers": [
            {"id": "openai:chat:gpt-4o-mini", "config": {"apiBaseUrl": fake.openai_base_url}},
            {"id": "anthropic:messages:claude-3-5-haiku-latest", "config": {"apiBaseUrl": fake.anthropic_base_url}},
        ],
        "tests": [{"vars": {"thing": "this", "image": "file://cat.png"},
                   "assert": [{"type": "contains", "value": "What is this? | 1 images: image/png 72 bytes"}]}],
    }))


@pytest.mark.parametrize("url", ["data:image/png;base64,{{image}}", "{{image}}"], ids=["data-url", "bare-base64"])
def test_a_promptfoo_image_var_loads_as_base64_and_is_sent_as_an_image(
    pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None, url: str
) -> None:
    fake_llm.responder = describe_images
    promptfoo_project(pytester, fake_llm, url)

    pytester.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=2)

    assert user_content(fake_llm, "anthropic")[1]["source"]["media_type"] == "image/png"
    for text in cassette_texts(pytester).values():
        assert base64.b64encode(PNG).decode() not in text
    fake_llm.stop()
    pytester.runpytest(*QUIET, "--record-mode=none", "-n", "2").assert_outcomes(passed=2)


def test_a_promptfoo_image_var_that_is_too_big_is_named(pf: pytest.Pytester) -> None:
    with (pf.path / "huge.png").open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    pf.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["Look {{image}}"], "providers": ["echo"], "tests": [{"vars": {"image": "file://huge.png"}}],
    }))

    result = pf.runpytest(*QUIET)

    result.stdout.fnmatch_lines(["*var 'image': image 'huge.png': 21.0 MB, over the 20.0 MB limit for an image"])


def test_image_paths_resolve_from_the_prompt_file(tmp_path: Path) -> None:
    from promptcheck.formats.parts import read_image

    (tmp_path / "a.JPG").write_bytes(b"\xff\xd8\xff" + bytes(5))
    part = read_image("a.JPG", tmp_path)
    assert (part.media_type, len(part.data), part.canonical()["bytes"]) == ("image/jpeg", 8, 8)


def test_a_changed_image_changes_the_prompt_hash_that_diffs_compare() -> None:
    from promptcheck.engine.results import messages_hash
    from promptcheck.providers.parts import ContentPart

    messages = (("user", "Look"),)
    one = ((0, (ContentPart("text", text="Look"), ContentPart("image", data=PNG, media_type="image/png"))),)
    other = ((0, (ContentPart("text", text="Look"), ContentPart("image", data=PNG + b"!", media_type="image/png"))),)
    assert messages_hash(messages) == messages_hash(messages, ())  # text-only prompts hash as before
    assert len({messages_hash(messages), messages_hash(messages, one), messages_hash(messages, other)}) == 3


def test_a_promptfoo_chat_rendered_as_a_whole_keeps_its_image_parts(pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None) -> None:
    fake_llm.responder = describe_images
    promptfoo_project(pytester, fake_llm, "data:image/png;base64,{{image}}")
    chat = (pytester.path / "chat.json").read_text(encoding="utf-8")
    # JSON only once rendered: promptfoo renders the whole text per test, then reads it as a chat
    (pytester.path / "chat.json").write_text(chat.replace('"What is', '{% if true %}"What is').replace('?"', '?"{% endif %}'), encoding="utf-8")

    pytester.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=2)

    assert user_content(fake_llm, "openai")[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    for text in cassette_texts(pytester).values():
        assert "base64" not in text
