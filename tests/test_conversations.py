"""Conversation cases (issue 16): ``turns:`` in our format, assistant messages in GitHub Models
files, promptfoo's ``_conversation`` threads; cassettes per turn, failures and errors naming the
turn, per-turn results on the run record. Live tests talk to the loopback FakeLLM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import write
from fakellm import FakeLLM, echo_last_user_message, two_provider_pyproject
from liveproject import PROMPT, Project, run_record

from promptcheck.runs.reading import load_run
from promptcheck.runs.record import ItemResult, RunRecord


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]])", r"[\1]", text)


def numbered(kind: str, body: dict[str, Any]) -> str:
    """An answer that shows how much of the thread the model saw."""
    messages = body.get("messages") or []
    return f"#{len(messages)} re: {echo_last_user_message(kind, body)}"


SUPPORT = """\
name: Support
model: local
messages:
  - role: system
    content: You are a support agent.
testData:
  - id: refund
    inputs: {order: "42"}
    turns:
      - user: Refund order {{ order }}
        checks: [{type: contains, value: "{{ order }}"}]
      - user: It arrived broken
        reply: %(reply)s
      - user: Here is the photo
        checks: [{type: contains, value: photo}]
"""


def support_project(live_project: Project, reply: str = "Sorry! Do you have a photo?") -> Project:
    write(live_project.pytester, PROMPT, SUPPORT % {"reply": reply})
    live_project.fake.responder = numbered
    return live_project


def sent_threads(fake: FakeLLM) -> list[list[tuple[str, str]]]:
    return [[(m["role"], m["content"]) for m in r.body["messages"]] for r in fake.requests]


# -- turns in our format ----------------------------------------------------------------------------


def test_the_model_answers_each_turn_and_later_turns_see_its_answers(live_project: Project) -> None:
    project = support_project(live_project)
    result = project.run("--record-mode=new")
    result.assert_outcomes(passed=1)
    system = ("system", "You are a support agent.")
    assert sent_threads(project.fake) == [
        [system, ("user", "Refund order 42")],
        [system, ("user", "Refund order 42"), ("assistant", "#2 re: Refund order 42"),
         ("user", "It arrived broken"), ("assistant", "Sorry! Do you have a photo?"), ("user", "Here is the photo")],
    ]
    item = run_record(project.pytester.path, result).items[0]
    assert [(t.index, t.user, t.answer, t.fixed, t.passed) for t in item.turns] == [
        (0, "Refund order 42", "#2 re: Refund order 42", False, True),
        (1, "It arrived broken", "Sorry! Do you have a photo?", True, True),
        (2, "Here is the photo", "#6 re: Here is the photo", False, True),
    ]
    assert [c.name for c in item.turns[2].checks] == ["contains: photo"]
    assert item.answer == "#6 re: Here is the photo"
    assert [c.name for c in item.checks] == ["turn 1: contains: 42", "turn 3: contains: photo"]


def test_each_answered_turn_is_its_own_cassette_entry_and_replays(live_project: Project) -> None:
    project = support_project(live_project)
    project.run("--record-mode=new").assert_outcomes(passed=1)
    assert len(project.entries()) == 2  # the fixed reply is never asked for

    project.fake.stop()
    result = project.run("--record-mode=none")
    result.assert_outcomes(passed=1)
    item = run_record(project.pytester.path, result).items[0]
    assert [t.replayed for t in item.turns] == [True, False, True] and item.replayed


def test_a_changed_fixed_reply_misses_the_cache_for_later_turns(live_project: Project) -> None:
    project = support_project(live_project)
    project.run("--record-mode=new").assert_outcomes(passed=1)
    support_project(live_project, reply="Sorry! Send us a photo.")
    result = project.run("--record-mode=none")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        glob_escape(f'*turn 3 (user: "Here is the photo"): provider error: no recorded answer for {PROMPT}::refund[local] in *')
        + "*record mode 'none' never calls the API*",
    ])


def test_a_changed_recorded_answer_misses_the_cache_for_later_turns(live_project: Project) -> None:
    project = support_project(live_project)
    project.run("--record-mode=new").assert_outcomes(passed=1)
    cassette = project.cassette()
    text = cassette.read_text(encoding="utf-8")
    assert text.count("#2 re: Refund order 42") == 2  # the first turn's answer, and the thread that quotes it
    doc = yaml.safe_load(text)
    first = next(e for e in doc["entries"].values() if len(e["request"]["messages"]) == 2)
    first["response"]["text"] = "#2 re: order 42, edited"
    cassette.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")

    result = project.run("--record-mode=none")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([glob_escape('*turn 3 (user: "Here is the photo"): provider error: no recorded answer for *')])


def test_a_failed_turn_is_named_with_its_user_message_and_checks(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/support.prompt.yaml", """\
        name: Support
        messages:
          - {role: system, content: You are a support agent.}
        testData:
          - id: refund
            turns:
              - user: Refund order 42
                checks: [{type: contains, value: "42"}]
              - user: Here is the photo of the broken parcel, as you asked me to send it earlier today
                checks: [{type: contains, value: refund}, {type: contains, value: photo}]
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "prompts/support.prompt.yaml · case refund · model echo",
        "1 of 2 answered turns failed",
        'turn 2 (user: "Here is the photo of the broken parcel, as you asked me to …"): 1 of 2 checks failed:',
        "  ✗ contains: refund — 'refund' not found in the answer",
        "answer (80 chars, live):",
        "*FAILED prompts/support.prompt.yaml::refund[[]echo[]] - turn 2 (user: *",
    ])


def test_checks_outside_turns_judge_every_answer(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/support.prompt.yaml", """\
        name: Support
        messages:
          - {role: system, content: Be brief.}
        evaluators:
          - {name: no shouting, type: not-contains, value: "!"}
        testData:
          - id: thread
            turns:
              - user: hello!
              - user: fine
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['turn 1 (user: "hello!"): 1 of 1 checks failed:', "  ✗ no shouting — *"])
    assert "turn 2" not in result.stdout.str().split("answered turns failed", 1)[1]


def test_a_provider_error_on_a_turn_is_an_error_naming_that_turn(live_project: Project) -> None:
    project = support_project(live_project)
    project.configure(settings="max_retries = 0\ntimeout_s = 5\n")
    project.fake.script(["ok", "400"])
    result = project.run("--record-mode=new")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of refund [[]local[]]*",
        '*turn 3 (user: "Here is the photo"): provider error: *Unsupported parameter*',
    ])


def test_the_reference_model_skips_a_conversation_saying_which_turn_has_no_output(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["reference"]\n')
    write(pytester, "prompts/chat.prompt.yaml", """\
        name: Chat
        messages:
          - {role: system, content: Be brief.}
        testData:
          - id: thread
            turns:
              - {user: hi, output: hi there, checks: [{type: contains, value: hi}]}
              - {user: fine?, reply: fine}
              - {user: bye}
        """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no reference answer for turn 3: add `output:` to each turn the model answers to use the `reference` model*"])


def test_a_check_without_a_verdict_on_a_turn_is_an_error_naming_that_turn(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/support.prompt.yaml", """\
        name: Support
        messages:
          - {role: system, content: You are a support agent.}
        testData:
          - id: hook
            turns:
              - user: hello
              - user: second
                checks: [{type: webhook, value: "http://127.0.0.1:9/verdict"}]
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider", "--record-mode=none")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        '*turn 2 (user: "second"): webhook http://127.0.0.1:9/verdict: no recorded answer for '
        "prompts/support.prompt.yaml::hook[[]echo[]] in *webhook.yaml (record mode 'none' never calls the API)*",
    ])


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_both_sdks_get_the_thread_in_order(
    pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None, xdist: tuple[str, ...]
) -> None:
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm) + "max_retries = 1\n")
    fake_llm.responder = numbered
    write(pytester, "prompts/chat.prompt.yaml", """\
        name: Chat
        messages:
          - {role: system, content: Be brief.}
        testData:
          - id: three
            turns:
              - {user: one, checks: [{type: contains, value: "#"}]}
              - {user: two, checks: [{type: contains, value: "re: two"}]}
              - {user: three, checks: [{type: contains, value: "re: three"}]}
        """)
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode=new", *xdist).assert_outcomes(passed=2)
    by_kind: dict[str, list[int]] = {}
    for request in fake_llm.requests:
        by_kind.setdefault(request.kind, []).append(len(request.body["messages"]))
    # OpenAI gets the system message in the list, Anthropic beside it: 2, 4, 6 and 1, 3, 5 messages.
    assert by_kind == {"openai": [2, 4, 6], "anthropic": [1, 3, 5]}
    last = [r.body["messages"] for r in fake_llm.requests if r.kind == "anthropic"][-1]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user"]
    assert last[1]["content"] in ("#1 re: one", [{"type": "text", "text": "#1 re: one"}])


# -- bad input ----------------------------------------------------------------------------------------


def test_bad_turns_are_collection_errors_with_their_lines(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/bad.prompt.yaml", """\
        name: Bad
        messages:
          - {role: user, content: hi}
        testData:
          - id: not-a-list
            inputs: {}
            turns: hello
          - id: no-user
            turns:
              - {user: a, reply: b}
              - {checks: [{type: contains, value: x}]}
          - id: reply-with-checks
            turns:
              - {user: a, reply: b, checks: [{type: contains, value: b}]}
              - {user: c}
          - id: last-fixed
            turns:
              - {user: a}
              - {user: b, reply: c, extra: 1}
          - id: expected
            expected: refund
            turns:
              - {user: a}
          - id: reply-with-output
            output: b
            turns:
              - {user: a, reply: b, output: b}
              - {user: c}
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines_random([
        glob_escape("*bad.prompt.yaml:7:*'turns' must be a non-empty list of turns ({user: ..., checks: [...]}), got a string*"),
        "*bad.prompt.yaml:11:*a turn needs 'user': the user's message as text, got nothing (null)*",
        "*bad.prompt.yaml:14:*a turn with a fixed 'reply' is not answered by the model, so it takes no 'checks'*",
        "*bad.prompt.yaml:19:*unknown key(s) in turn: extra (known: checks, output, reply, user)*",
        "*bad.prompt.yaml:19:*turn 2 is the last turn and has a fixed 'reply': the model must answer the last turn*",
        "*bad.prompt.yaml:21:*'expected' describes a single answer and cannot be used with 'turns': give the turn it is about its own checks*",
        "*bad.prompt.yaml:25:*'output' describes a single answer and cannot be used with 'turns': give each answered turn its own output*",
        "*bad.prompt.yaml:27:*a turn with a fixed 'reply' is not answered by the model, so it takes no 'output'*",
    ])


def test_an_undefined_variable_in_a_turn_is_a_collection_error(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/bad.prompt.yaml", """\
        name: Bad
        messages:
          - {role: user, content: hi}
        testData:
          - id: thread
            turns:
              - {user: "hello {{ nobody }}"}
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*bad.prompt.yaml:5:*case 'thread': *nobody*"])


def test_turns_in_a_case_file(echo_project: pytest.Pytester) -> None:
    write(echo_project, "prompts/greet.prompt.yaml", """\
        name: Greeter
        messages:
          - {role: user, content: "hi {{ name }}"}
        testData:
          - {name: Ada}
        """)
    write(echo_project, "cases/greet.yaml", """\
        cases:
          - id: chat
            inputs: {name: Ada}
            turns:
              - {user: "hello {{ name }}", checks: [{type: contains, value: Ada}]}
        """)
    result = echo_project.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, skipped=1)  # the prompt's own row has no checks
    result.stdout.fnmatch_lines(["*::chat[[]echo[]] PASSED*"])


# -- GitHub Models files: assistant messages are a thread -------------------------------------------


def test_assistant_messages_of_a_prompt_are_sent_in_order(live_project: Project) -> None:
    write(live_project.pytester, PROMPT, """\
        name: Few-shot
        model: local
        messages:
          - {role: system, content: Classify.}
          - {role: user, content: great product}
          - {role: assistant, content: positive}
          - {role: user, content: "{{ review }}"}
        testData:
          - {review: awful}
        evaluators:
          - {name: echoed, string: {contains: awful}}
        """)
    live_project.run("--record-mode=new").assert_outcomes(passed=1)
    assert sent_threads(live_project.fake) == [
        [("system", "Classify."), ("user", "great product"), ("assistant", "positive"), ("user", "awful")]
    ]


# -- promptfoo's _conversation threads ---------------------------------------------------------------

THREADS = """\
    prompts:
      - '{% for c in _conversation %}[{{ c.input }} => {{ c.output }}] {% endfor %}{{ question }}'
    providers: [echo]
    tests:
      - vars: {question: Who founded it?}
        metadata: {conversationId: one}
        assert: [{type: equals, value: Who founded it?}]
      - vars: {question: Weather?}
        metadata: {conversationId: two}
        assert: [{type: equals, value: Weather?}]
      - vars: {question: Where does he live?}
        metadata: {conversationId: one}
        assert: [{type: equals, value: "[Who founded it? => Who founded it?] Where does he live?"}]
      - vars: {question: And tomorrow?}
        metadata: {conversationId: two}
        assert: [{type: equals, value: "nothing like it"}]
"""


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_promptfoo_threads_run_in_order_with_conversation(pf: pytest.Pytester, xdist: tuple[str, ...]) -> None:
    write(pf, "promptfooconfig.yaml", THREADS)
    result = pf.runpytest("-p", "no:cacheprovider", "-rs", *xdist)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        glob_escape('*turn 2 (user: "[Weather? => Weather?] And tomorrow?"): 1 of 1 checks failed:*'),
    ])
    record = load_run(sorted((pf.path / "reports" / "runs").glob("*.json"))[-1])
    items = {i.case_id: i for i in record.items}
    assert sorted(items) == ["where-does-he-live", "who-founded-it"] or sorted(items) == ["weather", "who-founded-it"]
    assert [t.answer for t in items["who-founded-it"].turns] == [
        "Who founded it?", "[Who founded it? => Who founded it?] Where does he live?"]


def test_promptfoo_tests_without_a_conversation_id_share_one_thread(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts:
          - '{{ _conversation | length }} before: {{ question }}'
        providers: [echo]
        tests:
          - vars: {question: a}
            assert: [{type: equals, value: "0 before: a"}]
          - vars: {question: b}
            assert: [{type: equals, value: "1 before: b"}]
          - vars: {question: c}
            assert: [{type: equals, value: "2 before: c"}]
        """)
    pf.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# -- the run record ---------------------------------------------------------------------------------


def test_a_record_without_turns_still_loads() -> None:
    old = ItemResult(key="p::c[m]", status="pass", answer="hi")
    assert old.turns == ()
    import msgspec

    decoded = msgspec.json.decode(b'{"key": "p::c[m]", "status": "pass", "answer": "hi"}', type=ItemResult)
    assert decoded.turns == () and isinstance(RunRecord, type)


# -- the README's example ---------------------------------------------------------------------------


def test_the_readme_conversation_example_runs(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Conversations", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    write(pytester, "prompts/support.prompt.yaml", example)
    # echo answers with the last user message: turn 1 names the order, turn 3 never says "refund".
    result = pytester.runpytest("-p", "no:cacheprovider", "--models", "echo")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "1 of 2 answered turns failed",
        'turn 3 (user: "Photo attached."): 1 of 2 checks failed:',
        "  ✗ icontains: refund — *",
    ])
    assert 'turn 3 (user: "Photo attached."): 1 of 2 checks failed: icontains: refund' in section


# -- promptfoo's multiple-turn-conversation example (Nunjucks member lookup) -------------------------

# The example's prompt, as promptfoo ships it: its loop reads ``completion.input[input.length - 1]
# .content``, but ``input`` is the last user message's text, so promptfoo (Nunjucks) takes the
# last character's ``content``: undefined, rendered empty. Earlier user turns go out empty.
PF_THREAD_PROMPT = """\
[
  {"role": "system", "content": "{{ system_message }}"},
  {% for completion in _conversation %}
    {"role": "user", "content": "{{ completion.input[completion.input.length - 1].content }}"},
    {"role": "assistant", "content": "{{ completion.output }}"},
  {% endfor %}
  {"role": "user", "content": "{{ question }}"}
]
"""


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_promptfoo_multi_turn_example_renders_every_turn_as_promptfoo_does(pf: pytest.Pytester, xdist: tuple[str, ...]) -> None:
    write(pf, "prompt.json", PF_THREAD_PROMPT)
    write(pf, "promptfooconfig.yaml", """\
        prompts: [file://prompt.json]
        providers: [echo]
        defaultTest:
          vars: {system_message: Be brief.}
        tests:
          - vars: {question: Who founded it?}
            metadata: {conversationId: one}
            assert: [{type: equals, value: Who founded it?}]
          - vars: {question: Where does he live?}
            metadata: {conversationId: one}
            assert:
              - type: python
                # system, the earlier user turn (empty), echo's answer to it, this question
                value: "context['prompt'].split(chr(10)) == ['Be brief.', '', 'Who founded it?', 'Where does he live?']"
          - vars: {question: Which state?}
            metadata: {conversationId: one}
            assert: [{type: equals, value: Which state?}]
        """)
    result = pf.runpytest("-p", "no:cacheprovider", *xdist)
    result.assert_outcomes(passed=1)
    record = load_run(sorted((pf.path / "reports" / "runs").glob("*.json"))[-1])
    assert [t.answer for t in record.items[0].turns] == ["Who founded it?", "Where does he live?", "Which state?"]


def test_promptfoo_members_a_value_lacks_render_empty_but_unknown_names_are_errors(pf: pytest.Pytester) -> None:
    # As in Nunjucks: a member a value lacks is empty, even looked into again, and `.length`
    # is a string's or list's length. A name no variable defines is still a typo, found at collection.
    template = "{% for c in _conversation %}{{ c.nothing.deeper }}{{ c.outptu }}{{ c.output.length }} {% endfor %}{{ question }}"
    write(pf, "promptfooconfig.yaml", f"""\
        prompts:
          - '{template}'
        providers: [echo]
        tests:
          - vars: {{question: abc}}
            assert: [{{type: equals, value: abc}}]
          - vars: {{question: b}}
            assert: [{{type: equals, value: 3 b}}]
        """)
    pf.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    write(pf, "promptfooconfig.yaml", f"""\
        prompts:
          - '{template.replace("c.outptu", "histroy")}'
        providers: [echo]
        tests:
          - vars: {{question: abc}}
        """)
    result = pf.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["promptfooconfig.yaml:5:5: case 'abc' does not define template variable 'histroy' (used in message 1, user)"])
