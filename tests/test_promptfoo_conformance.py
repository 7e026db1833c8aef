"""Verdict conformance with promptfoo: (assertion, answer) -> pass/fail, as promptfoo's
documentation (promptfoo.dev/docs/configuration/expected-outputs/) and its test suite
(test/assertions/*.test.ts) define them. "docs" / "pf-tests" in a comment marks the source;
unmarked rows are edge cases derived from the same documented rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptcheck.checks import jsengine
from promptcheck.checks.evaluate import evaluate
from promptcheck.checks.base import CheckContext
from promptcheck.formats.fields import Problems
from promptcheck.formats.promptfoo.asserts import assertion_from_string, parse_assert
from promptcheck.spec import Location, PromptfooProviderConfig

A = dict[str, Any]
ROWS: list[tuple[A, str, bool]] = [
    # equals: exact, case- and whitespace-sensitive (docs)
    ({"type": "equals", "value": "Hello world"}, "Hello world", True),
    ({"type": "equals", "value": "Hello world"}, "hello world", False),
    ({"type": "equals", "value": "Hello world"}, "Hello world ", False),
    ({"type": "equals", "value": "Hello world"}, "Hello world\n", False),
    ({"type": "equals", "value": "Hello"}, "", False),
    ({"type": "equals", "value": "héllo ✓"}, "héllo ✓", True),
    ({"type": "equals", "value": 42}, "42", True),
    ({"type": "not-equals", "value": "Hello"}, "Goodbye", True),
    ({"type": "not-equals", "value": "Hello"}, "Hello", False),
    # equals with an object value compares JSON.parse(output) deeply (pf-tests)
    ({"type": "equals", "value": {"a": 1, "b": [1, 2]}}, '{"b": [1, 2], "a": 1}', True),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 2}', False),
    ({"type": "equals", "value": {"a": 1}}, '```json\n{"a": 1}\n```', False),
    ({"type": "equals", "value": {"a": True}}, '{"a": 1}', False),
    ({"type": "equals", "value": [1, 2]}, "[1,2]", True),
    ({"type": "equals", "value": {"a": 1}}, "not json", False),
    # contains: case-sensitive substring (docs)
    ({"type": "contains", "value": "world"}, "Hello world", True),
    ({"type": "contains", "value": "World"}, "Hello world", False),
    ({"type": "contains", "value": "lo wo"}, "Hello world", True),
    ({"type": "contains", "value": "x"}, "", False),
    ({"type": "contains", "value": "café"}, "un café noir", True),
    ({"type": "contains", "value": "cafe"}, "un café noir", False),
    ({"type": "contains", "value": "日本"}, "日本語", True),
    ({"type": "contains", "value": "a.b"}, "axb", False),  # literal, not a pattern
    ({"type": "contains", "value": 42}, "the answer is 42", True),
    ({"type": "not-contains", "value": "AI language model"}, "As an AI language model", False),
    ({"type": "not-contains", "value": "AI language model"}, "Sure thing", True),
    ({"type": "not-contains", "value": "x"}, "", True),
    # icontains (docs)
    ({"type": "icontains", "value": "WORLD"}, "Hello world", True),
    ({"type": "icontains", "value": "dónde está"}, "¿DÓNDE ESTÁ la biblioteca?", True),
    ({"type": "icontains", "value": "darkness"}, "Dark", False),
    ({"type": "icontains", "value": "x"}, "", False),
    ({"type": "not-icontains", "value": "sorry"}, "I'm SORRY", False),
    ({"type": "not-icontains", "value": "sorry"}, "Here you go", True),
    # contains-any / contains-all, list or comma-separated value (docs)
    ({"type": "contains-any", "value": ["fire", "flame"]}, "It is a flame", True),
    ({"type": "contains-any", "value": ["fire", "flame"]}, "It is FIRE", False),
    ({"type": "contains-any", "value": "fire,flame"}, "fire!", True),
    ({"type": "contains-any", "value": ["a", "b"]}, "", False),
    ({"type": "contains-all", "value": ["2021", "2022", "2023"]}, "2021, 2022 and 2023", True),
    ({"type": "contains-all", "value": ["2021", "2022", "2023"]}, "2021 and 2023", False),
    ({"type": "contains-all", "value": "red, green"}, "red and green", True),
    ({"type": "not-contains-any", "value": ["sorry", "apologize"]}, "I apologize", False),
    ({"type": "not-contains-any", "value": ["sorry", "apologize"]}, "Done.", True),
    ({"type": "not-contains-all", "value": ["a", "z"]}, "only a", True),
    ({"type": "not-contains-all", "value": ["a", "b"]}, "a b", False),
    ({"type": "icontains-any", "value": ["FIRE", "flame"]}, "fire", True),
    ({"type": "icontains-any", "value": ["x", "y"]}, "zzz", False),
    ({"type": "icontains-all", "value": ["2023", "APPLE"]}, "apple in 2023", True),
    ({"type": "icontains-all", "value": ["apple", "pear"]}, "APPLE", False),
    ({"type": "not-icontains-any", "value": ["AS AN AI"]}, "as an ai, I", False),
    ({"type": "not-icontains-all", "value": ["a", "q"]}, "A only", True),
    # starts-with: case-sensitive prefix, no trimming (docs)
    ({"type": "starts-with", "value": "Yes"}, "Yes, indeed", True),
    ({"type": "starts-with", "value": "Yes"}, "yes, indeed", False),
    ({"type": "starts-with", "value": "Yes"}, " Yes", False),
    ({"type": "starts-with", "value": "Yes"}, "", False),
    ({"type": "starts-with", "value": "¿"}, "¿Qué?", True),
    ({"type": "not-starts-with", "value": "Sure"}, "Sure, here it is", False),
    ({"type": "not-starts-with", "value": "Sure"}, "Here it is. Sure.", True),
    # is-json: the whole output must parse; optional schema (docs)
    ({"type": "is-json"}, '{"a": 1}', True),
    ({"type": "is-json"}, "  [1, 2]\n", True),
    ({"type": "is-json"}, '"just a string"', True),
    ({"type": "is-json"}, "null", True),
    ({"type": "is-json"}, "Here: {\"a\": 1}", False),
    ({"type": "is-json"}, '```json\n{"a": 1}\n```', False),
    ({"type": "is-json"}, "", False),
    ({"type": "is-json"}, "{'a': 1}", False),
    ({"type": "is-json"}, '{"a": 1,}', False),
    ({"type": "not-is-json"}, "plain text", True),
    ({"type": "not-is-json"}, "{}", False),
    ({"type": "is-json", "value": {"type": "object", "required": ["color"]}}, '{"color": "red"}', True),
    ({"type": "is-json", "value": {"type": "object", "required": ["color"]}}, '{"colour": "red"}', False),
    ({"type": "is-json", "value": {"type": "object", "properties": {"n": {"type": "integer"}}}}, '{"n": 1.5}', False),
    ({"type": "is-json", "value": "type: array\nitems:\n  type: string\n"}, '["a", "b"]', True),  # docs: YAML schema text
    ({"type": "is-json", "value": "type: array\nitems:\n  type: string\n"}, '["a", 1]', False),
    # contains-json: JSON anywhere in the output (docs). promptfoo looks for objects only, adds
    # missing closing braces and parses candidates as YAML; the lenient rows below are verdicts of
    # the real promptfoo 0.120.8 (bench/promptfoo_crosscheck.py), not of its docs.
    ({"type": "contains-json"}, 'Sure! {"a": 1} hope it helps', True),
    ({"type": "contains-json"}, 'Result:\n```json\n{"a": [1, 2]}\n```', True),
    ({"type": "contains-json"}, "no json {here", True),  # "{here}" is YAML for {here: null}
    ({"type": "contains-json"}, "", False),
    ({"type": "contains-json"}, "list: [1, 2, 3]", False),  # a bare array is not looked for
    ({"type": "contains-json"}, '[{"a": 1}]', True),  # the object inside it is
    ({"type": "contains-json"}, "{'a': 1}", True),
    ({"type": "contains-json"}, "{a: 1}", True),
    ({"type": "contains-json"}, "use {} here", True),
    ({"type": "contains-json"}, '{"a": 1', True),  # closed for it
    ({"type": "contains-json"}, 'x {"a": 1 // a comment\n}', True),
    ({"type": "contains-json"}, "x {", False),
    ({"type": "contains-json"}, "a } b", False),
    ({"type": "contains-json", "value": {"required": ["name"]}}, 'x {"name": "Ann"} y', True),
    ({"type": "contains-json", "value": {"required": ["name"]}}, 'x {"age": 3} y', False),
    ({"type": "contains-json", "value": {"required": ["name"]}}, '{"age": 3} and {"name": "B"}', True),
    ({"type": "not-contains-json"}, "plain", True),
    ({"type": "not-contains-json"}, 'a {"b": 1}', False),
    # levenshtein: threshold is the maximum edit distance, default 5 (docs)
    ({"type": "levenshtein", "value": "hello world", "threshold": 2}, "hello wrld", True),
    ({"type": "levenshtein", "value": "hello world", "threshold": 0}, "hello wrld", False),
    ({"type": "levenshtein", "value": "kitten", "threshold": 3}, "sitting", True),  # pf-tests classic
    ({"type": "levenshtein", "value": "kitten", "threshold": 2}, "sitting", False),
    ({"type": "levenshtein", "value": "abc"}, "abcdefgh", True),  # distance 5 <= default 5
    ({"type": "levenshtein", "value": "abc"}, "abcdefghi", False),
    ({"type": "levenshtein", "value": "", "threshold": 0}, "", True),
    ({"type": "not-levenshtein", "value": "abc", "threshold": 1}, "xyz", True),
    # word-count: exact number or {min, max} (docs)
    ({"type": "word-count", "value": 3}, "one two three", True),
    ({"type": "word-count", "value": 3}, "  one   two\nthree  ", True),
    ({"type": "word-count", "value": 3}, "one two", False),
    ({"type": "word-count", "value": 0}, "", True),
    ({"type": "word-count", "value": {"min": 2, "max": 4}}, "a b c", True),
    ({"type": "word-count", "value": {"min": 2, "max": 4}}, "a b c d e", False),
    ({"type": "word-count", "value": {"min": 2}}, "a", False),
    ({"type": "word-count", "value": {"max": 1}}, "a", True),
    ({"type": "not-word-count", "value": 1}, "a b", True),
    # is-valid-openai-tools-call (pf-tests: list of {type, function: {name, arguments}})
    # no tools in the provider's config: nothing is a valid call (promptfoo 0.120.8, crosscheck)
    ({"type": "is-valid-openai-tools-call"}, '[{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Boston\\"}"}}]', False),
    ({"type": "is-valid-openai-tools-call"}, '[{"type": "function", "function": {"name": "f", "arguments": "not json"}}]', False),
    ({"type": "is-valid-openai-tools-call"}, "The weather is nice", False),
    ({"type": "is-valid-openai-tools-call"}, "[]", False),
    ({"type": "is-valid-openai-tools-call"}, '[{"type": "function"}]', False),
    # python: expression or function body; bool, number (> 0 passes) or {pass, score, reason} (docs)
    ({"type": "python", "value": "'banana' in output"}, "I like banana", True),
    ({"type": "python", "value": "'banana' in output"}, "I like apples", False),
    ({"type": "python", "value": "len(output) > 5"}, "short", False),
    ({"type": "python", "value": "len(output)"}, "", False),
    ({"type": "python", "value": "len(output) / 10"}, "12345", True),
    ({"type": "python", "value": "0.5", "threshold": 0.6}, "x", False),
    ({"type": "python", "value": "0.7", "threshold": 0.6}, "x", True),
    ({"type": "python", "value": "{'pass': True, 'score': 0.5, 'reason': 'ok'}"}, "x", True),
    ({"type": "python", "value": "{'pass': False, 'score': 0, 'reason': 'no'}"}, "x", False),
    ({"type": "python", "value": "if output == 'Expected output':\n    return {'pass': True, 'score': 0.5, 'reason': 'Looks good'}\nreturn {'pass': False, 'score': 0, 'reason': 'nope'}\n"}, "Expected output", True),  # docs example
    ({"type": "python", "value": "if output == 'Expected output':\n    return True\nreturn False\n"}, "other", False),
    ({"type": "python", "value": "context['vars']['topic'] in output"}, "fruit is great", True),  # corpus: python-assert-inline
    ({"type": "python", "value": "'true'"}, "x", True),
    ({"type": "python", "value": "1 / 0"}, "x", False),  # an exception fails the assertion
    ({"type": "not-python", "value": "'x' in output"}, "abc", True),
    ({"type": "not-python", "value": "'a' in output"}, "abc", False),
    ({"type": "python", "value": "output == ''"}, "", True),
    ({"type": "python", "value": "output.upper() == 'ÄÖÜ'"}, "äöü", True),
    # latency / cost: threshold is the maximum (docs); see the context rows below
]
JS_ROWS: list[tuple[A, str, bool]] = [
    # javascript: expression, number > 0 passes, {pass, score, reason} (docs)
    ({"type": "javascript", "value": "output.includes('Hello')"}, "Hello world", True),
    ({"type": "javascript", "value": "output.includes('Hello')"}, "hello world", False),
    ({"type": "javascript", "value": "output.length < 10"}, "short", True),
    ({"type": "javascript", "value": "output.length < 10"}, "much too long answer", False),
    ({"type": "javascript", "value": "output.length"}, "", False),
    ({"type": "javascript", "value": "output.length / 10"}, "12345", True),
    ({"type": "javascript", "value": "0.5", "threshold": 0.6}, "x", False),
    ({"type": "javascript", "value": "0.8", "threshold": 0.6}, "x", True),
    ({"type": "javascript", "value": "output.length <= 100 ? 1 : output.length > 1000 ? 0 : 1 - (output.length - 100) / 900"}, "short", True),  # corpus: claude-vs-gpt
    ({"type": "javascript", "value": "Math.max(0, Math.min(1, 1 - (output.length - 100) / 900));"}, "x" * 1000, False),  # corpus: eval-self-grading
    ({"type": "javascript", "value": "JSON.parse(output).color === 'yellow'"}, '{"color": "yellow"}', True),  # corpus: json-output
    ({"type": "javascript", "value": "JSON.parse(output).color === 'yellow'"}, "not json", False),
    ({"type": "javascript", "value": "const words = output.split(' '); words.length >= 3"}, "one two three", True),
    ({"type": "javascript", "value": "const words = output.split(' '); words.length >= 3"}, "one two", False),
    ({"type": "javascript", "value": "if (output.startsWith('Ahoy')) {\n  return {pass: true, score: 1, reason: 'pirate'};\n}\nreturn {pass: false, score: 0, reason: 'not pirate'};\n"}, "Ahoy matey", True),  # docs: multi-line body
    ({"type": "javascript", "value": "if (output.startsWith('Ahoy')) {\n  return true;\n}\nreturn false;\n"}, "Hello", False),
    ({"type": "javascript", "value": "context.vars.topic === 'fruit'"}, "x", True),
    ({"type": "javascript", "value": "output.toLowerCase().includes('clue') || output.toLowerCase().includes('evidence')"}, "The EVIDENCE was clear", True),  # corpus
    ({"type": "javascript", "value": "output.split('\\n').length >= 3"}, "a\nb", False),  # corpus: config-result-hooks
    ({"type": "javascript", "value": "'true'"}, "x", False),  # a string is not a result (promptfoo 0.120.8); Python's is
    ({"type": "javascript", "value": "undefinedVariable > 1"}, "x", False),  # a thrown error fails
    ({"type": "javascript", "value": "[...output].length === 2"}, "😀é", True),  # unicode code points
    ({"type": "not-javascript", "value": "output.includes('x')"}, "abc", True),
    ({"type": "not-javascript", "value": "output.includes('a')"}, "abc", False),
    ({"type": "javascript", "value": "output === ''"}, "", True),
]
# regex is a JavaScript RegExp: these hold in V8 and in the Python translation.
REGEX_ROWS: list[tuple[A, str, bool]] = [
    ({"type": "regex", "value": "\\d{3}-\\d{4}"}, "call 555-1234", True),  # docs
    ({"type": "regex", "value": "\\d{3}-\\d{4}"}, "call 555-12", False),
    ({"type": "regex", "value": "^Hello"}, "Hello world", True),
    ({"type": "regex", "value": "^Hello"}, "Say Hello", False),
    ({"type": "regex", "value": "world$"}, "Hello world", True),
    ({"type": "regex", "value": "world$"}, "Hello world\n", False),  # JS $ is end of input; Python's would match
    ({"type": "regex", "value": "^\\d+$"}, "١٢٣", False),  # JS \d is ASCII only
    ({"type": "regex", "value": "^\\d+$"}, "123", True),
    ({"type": "regex", "value": "\\w+"}, "éé", False),  # JS \w is ASCII only
    ({"type": "regex", "value": "[Hh]ello"}, "hello", True),
    ({"type": "regex", "value": "(?<year>\\d{4})"}, "in 2024", True),  # JS named group
    ({"type": "regex", "value": "colou?r"}, "color", True),
    ({"type": "regex", "value": "x"}, "", False),
    ({"type": "regex", "value": "^$"}, "", True),
    ({"type": "regex", "value": "a.c"}, "a\nc", False),  # . does not match a newline
    ({"type": "regex", "value": "[\"'][^\"']*[\"']"}, 'He said "hi"', True),  # corpus: anthropic-prompt-improver
    ({"type": "not-regex", "value": "^Sure"}, "Sure thing", False),
    ({"type": "not-regex", "value": "^Sure"}, "Okay", True),
    ({"type": "regex", "value": "日本"}, "日本語", True),
    ({"type": "regex", "value": "[$]"}, "cost $5", True),
]
SHORTHAND_ROWS: list[tuple[str, str, bool]] = [
    # CSV __expected shorthand (docs: "Assertions in CSV")
    ("contains: Bonjour", "Bonjour le monde", True),
    ("contains: Bonjour", "Hello", False),
    ("icontains: bonjour", "BONJOUR", True),
    ("not-contains: sorry", "sorry!", False),
    ("contains-any: fire, flame", "a flame", True),
    ("contains-all: a, z", "a only", False),
    ("starts-with: Yes", "Yes sir", True),
    ("regex: ^\\d+$", "123", True),
    ("is-json", "{}", True),
    ("is-json", "nope", False),
    ("Yarr", "Yarr", True),  # no known prefix: equals
    ("Yarr", "Yarr!", False),
    ("python: len(output) == 3", "abc", True),
]


# Issue 15: promptfoo's remaining deterministic types, as (assertion, answer, pass, score). Every
# verdict and score is the real promptfoo 0.123.1's (bench/promptfoo_crosscheck.py). meteor is not
# here: promptfoo needs the optional natural package for it (see tests/test_promptfoo_assertions.py).
SCORED_ROWS: list[tuple[A, str, bool, float | None]] = [
    ({"type": "rouge-n", "value": "the quick brown fox jumps"}, "The quick brown fox.", True, 0.8),
    ({"type": "rouge-n", "value": "the cat sat on the mat"}, "the cat sat on the mat", True, 1),
    ({"type": "rouge-n", "value": "I do not know; it is fine."}, "I don't know, it's fine!", False, 0.5556),
    ({"type": "rouge-n", "value": "a b x d e", "threshold": 0.6}, "a b c d", True, 0.6667),
    ({"type": "not-rouge-n", "value": "Hello world"}, "goodbye moon", True, 1),
    ({"type": "rouge-n", "value": "Quoted text here $ 5 3,000"}, "\"Quoted\" text (here) $5 3,000", True, 0.75),
    ({"type": "bleu", "value": "the cat sat on the mat"}, "the cat sat on the mat", True, 1),
    ({"type": "bleu", "value": "the cat sat on the mat"}, "the cat sat on a mat", True, 0.5373),
    ({"type": "bleu", "value": "the cat sat on the mat"}, "the cat", False, 0.1353),
    ({"type": "bleu", "value": ["the cat is on the mat", "there is a cat on the mat"]}, "the cat is on the mat today", True, 0.8091),
    ({"type": "bleu", "value": "The Cat sat", "threshold": 0.9}, "the cat SAT", True, 1),
    ({"type": "not-bleu", "value": "completely different words here"}, "nothing in common at all", True, 1.0),
    ({"type": "gleu", "value": "the cat sat on the mat"}, "the cat sat on a mat.", True, 0.6111),
    ({"type": "gleu", "value": "The cat sat on the mat."}, "the cat sat on the mat", True, 1),
    ({"type": "gleu", "value": ["a b c d e", "the quick brown fox"]}, "the quick brown dog", True, 0.6),
    ({"type": "gleu", "value": "x y z"}, "   ", False, 0),
    ({"type": "not-gleu", "value": "one two three four"}, "five six seven eight", True, 1),
    ({"type": "is-sql"}, "SELECT id, name FROM users WHERE id = 1", True, 1),
    ({"type": "is-sql"}, "SELECT * FORM users", False, 0),
    ({"type": "is-sql"}, "hello world", False, 0),
    ({"type": "is-sql"}, "UPDATE users SET name = 'a' WHERE id = 2", True, 1),
    ({"type": "is-sql", "value": {"databaseType": "PostgreSQL"}}, "SELECT name::text FROM users", True, 1),
    ({"type": "is-sql", "value": {"allowedTables": ["select::null::users"]}}, "SELECT id FROM users", True, 1),
    ({"type": "is-sql", "value": {"allowedTables": ["select::null::users"]}}, "SELECT id FROM orders", False, 0),
    ({"type": "is-sql", "value": {"allowedTables": ["(select|update)::null::users"]}}, "UPDATE users SET a = 1", True, 1),
    ({"type": "is-sql", "value": {"allowedColumns": ["select::null::id", "select::null::name"]}}, "SELECT id, name FROM users", True, 1),
    ({"type": "is-sql", "value": {"allowedColumns": ["select::null::id"]}}, "SELECT id, password FROM users", False, 0),
    ({"type": "not-is-sql"}, "this is prose, not a query", True, 1),
    ({"type": "contains-sql"}, "Here is the query:\n```sql\nSELECT id FROM users\n```\nDone.", True, 1),
    ({"type": "contains-sql"}, "```\nSELECT FROM WHERE\n```", False, 0),
    ({"type": "contains-sql"}, "SELECT 1", True, 1),
    ({"type": "is-xml"}, "<root><a>1</a></root>", True, 1),
    ({"type": "is-xml"}, "Here: <root/>", False, 0),
    ({"type": "is-xml", "value": "root.a"}, "<root><a>1</a><b/></root>", True, 1),
    ({"type": "is-xml", "value": "root.c"}, "<root><a>1</a><b/></root>", False, 0),
    ({"type": "is-xml", "value": {"requiredElements": ["analysis.sentiment", "analysis.confidence"]}}, "<analysis><sentiment>positive</sentiment><confidence>0.9</confidence></analysis>", True, 1),
    ({"type": "is-xml", "value": ["analysis.sentiment", "analysis.score"]}, "<analysis><sentiment>positive</sentiment></analysis>", False, 0),
    ({"type": "not-is-xml"}, "plain text", True, 1),
    ({"type": "contains-xml"}, "The result is <answer><value>42</value></answer> as requested.", True, 1),
    ({"type": "contains-xml"}, "no markup here", False, 0),
    ({"type": "contains-xml", "value": "answer.value"}, "Result: <answer><value>42</value></answer>", True, 1),
    ({"type": "contains-xml", "value": "answer.other"}, "Result: <answer><value>42</value></answer>", False, 0),
    ({"type": "is-html"}, "<div><p>Hello</p></div>", True, 1),
    ({"type": "is-html"}, "<!DOCTYPE html><html><head><title>t</title></head><body><p>x</p></body></html>", True, 1),
    ({"type": "is-html"}, "Hello <b>world</b>", False, 0),
    ({"type": "is-html"}, "just text", False, 0),
    ({"type": "is-html"}, "<?xml version=\"1.0\"?><root/>", False, 0),
    ({"type": "is-html"}, "<foo><bar>x</bar></foo>", False, 0),
    ({"type": "is-html"}, "<my-widget>x</my-widget>", True, 1),
    ({"type": "is-html"}, "", False, 0),
    ({"type": "not-is-html"}, "a < b and c > d", True, 1),
    ({"type": "contains-html"}, "Here you go: <div class=\"x\">hi</div>", True, 1),
    ({"type": "contains-html"}, "a < b and c > d", False, 0),
    ({"type": "contains-html"}, "Use &amp; and <example>", True, 1),
    ({"type": "contains-html"}, "<!-- note --> plain", False, 0),
    ({"type": "contains-html"}, "<br/>", True, 1),
    ({"type": "not-contains-html"}, "No markup here.", True, 1),
    ({"type": "is-refusal"}, "I'm sorry, but I can't help with that.", True, 1),
    ({"type": "is-refusal"}, "I’m sorry, I won’t do that.", True, 1),
    ({"type": "is-refusal"}, "As an AI, I have no opinions.", True, 1),
    ({"type": "is-refusal"}, "Sure! Here is the recipe.", False, 0),
    ({"type": "is-refusal"}, "   ", True, 0),
    ({"type": "is-refusal"}, "That is not appropriate for me to say.", True, 1),
    ({"type": "is-refusal"}, "Well, sorry for the delay: here it is.", False, 0),
    ({"type": "not-is-refusal"}, "Paris is the capital of France.", True, 1),
    ({"type": "not-is-refusal"}, "I cannot provide that information.", False, 0),
    ({"type": "levenshtein", "value": "hello 😀"}, "hello 😀!!", True, 1),
    ({"type": "levenshtein", "value": "kitten", "threshold": 3}, "sitting", True, 1),
    ({"type": "levenshtein", "value": "kitten", "threshold": 2}, "sitting", False, 0),
    ({"type": "rouge-n", "value": "x"}, "", False, 0),
    ({"type": "bleu", "value": "the cat"}, "", False, 0),
    ({"type": "bleu", "value": ["a b c", "a b c d e f g"]}, "a b c d", True, 1),
    ({"type": "gleu", "value": "..."}, "the cat", False, 0),
    ({"type": "is-sql"}, "SELECT a b FROM t", False, 0),
    ({"type": "is-sql"}, "SELECT `id FROM users", False, 0),
    ({"type": "is-sql"}, "", False, 0),
    ({"type": "is-sql"}, "SELECT * FROM generate_series(1, 3)", False, 0),
    ({"type": "is-sql", "value": {"databaseType": "PostgreSQL"}}, "SELECT * FROM generate_series(1, 3)", True, 1),
    ({"type": "is-sql"}, "SELECT 'select a b from' FROM t", True, 1),
    ({"type": "contains-sql"}, "First:\n```python\nprint(1)\n```\nThen:\n~~~sql\nSELECT id FROM users\n~~~\n", True, 1),
    ({"type": "contains-sql"}, "```sql\nNOT SQL AT ALL\n```\n```\nSELECT 1\n```", True, 1),
    ({"type": "not-contains-sql"}, "No query here.", True, 1),
    ({"type": "is-xml"}, "<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>", False, 0),
    ({"type": "is-xml"}, "<a><b></a>", False, 0),
    ({"type": "is-xml"}, "  <a/>", True, 1),
    ({"type": "is-xml", "value": "root.item.1"}, "<root><item>1</item><item>2</item></root>", True, 1),
    ({"type": "is-xml", "value": "root.item.1"}, "<root><item>1</item></root>", False, 0),
    ({"type": "contains-xml"}, "Two: <a>1</a> and <b>2</b>.", True, 1),
    ({"type": "contains-xml"}, "Broken <a><b></a> then <c>ok</c>", True, 1),
    ({"type": "contains-xml", "value": "b"}, "Two: <a>1</a> and <b>2</b>.", True, 1),
    ({"type": "is-html"}, "<p>One</p>\n<p>Two</p>", True, 1),
    ({"type": "is-html"}, "<body>text</body>", True, 1),
    ({"type": "is-html"}, "<html>plain</html>", False, 0),
]



def build(assertion: A) -> Any:
    problems = Problems("promptfooconfig.yaml")
    check = parse_assert(assertion, problems, Location("promptfooconfig.yaml"), Path("."))
    assert not problems.errors, problems.errors
    return check


def verdict(assertion: A, answer: str, ctx: CheckContext | None = None) -> bool:
    return evaluate([build(assertion)], answer, ctx or CheckContext(case_vars={"topic": "fruit"})).passed


def _id(row: tuple[Any, str, bool]) -> str:
    assertion, answer, expected = row
    kind = assertion if isinstance(assertion, str) else assertion["type"]
    return f"{kind}-{answer[:15]!r}-{'pass' if expected else 'fail'}"


@pytest.mark.parametrize("assertion, answer, expected", ROWS, ids=[_id(r) for r in ROWS])
def test_deterministic(assertion: A, answer: str, expected: bool) -> None:
    assert verdict(assertion, answer) is expected


@pytest.fixture(params=["v8", "python-re"])
def regex_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "v8" and not jsengine.available():
        pytest.skip("mini-racer is not installed (pip install 'promptcheck[js]')")
    if request.param == "python-re":
        monkeypatch.setattr(jsengine, "available", lambda: False)
    return str(request.param)


@pytest.mark.parametrize("assertion, answer, expected", REGEX_ROWS, ids=[_id(r) for r in REGEX_ROWS])
def test_regex_is_javascript_regexp(assertion: A, answer: str, expected: bool, regex_engine: str) -> None:
    assert verdict(assertion, answer) is expected


@pytest.mark.skipif(not jsengine.available(), reason="mini-racer is not installed (pip install 'promptcheck[js]')")
@pytest.mark.parametrize("assertion, answer, expected", JS_ROWS, ids=[_id(r) for r in JS_ROWS])
def test_javascript(assertion: A, answer: str, expected: bool) -> None:
    assert verdict(assertion, answer) is expected


def test_javascript_without_the_extra_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsengine, "available", lambda: False)
    result = evaluate([build({"type": "javascript", "value": "true"})], "x")
    assert not result.passed
    assert "install promptcheck[js]" in result.results[0].reason


@pytest.mark.parametrize("text, answer, expected", SHORTHAND_ROWS, ids=[_id(r) for r in SHORTHAND_ROWS])
def test_csv_shorthand(text: str, answer: str, expected: bool) -> None:
    assert verdict(assertion_from_string(text), answer) is expected


@pytest.mark.parametrize("assertion, latency_s, cost, expected", [
    ({"type": "latency", "threshold": 3000}, 1.2, None, True),  # docs: threshold in ms
    ({"type": "latency", "threshold": 3000}, 3.5, None, False),
    ({"type": "latency", "threshold": 1000}, 1.0, None, True),
    ({"type": "cost", "threshold": 0.002}, 0.1, 0.001, True),  # docs
    ({"type": "cost", "threshold": 0.002}, 0.1, 0.01, False),
    ({"type": "not-latency", "threshold": 100}, 0.5, None, True),
])
def test_latency_and_cost(assertion: A, latency_s: float, cost: float | None, expected: bool) -> None:
    assert verdict(assertion, "x", CheckContext(latency_s=latency_s, cost=cost)) is expected


@pytest.mark.parametrize("asserts, threshold, answer, passed, score", [
    # docs ("Weighted assertions"): the test score is the weighted mean
    ([{"type": "contains", "value": "a", "weight": 3}, {"type": "contains", "value": "z"}], None, "a", False, 0.75),
    ([{"type": "contains", "value": "a", "weight": 3}, {"type": "contains", "value": "z"}], 0.7, "a", True, 0.75),
    ([{"type": "contains", "value": "a", "weight": 3}, {"type": "contains", "value": "z"}], 0.8, "a", False, 0.75),
    # no threshold: every assertion must pass (docs)
    ([{"type": "contains", "value": "a"}, {"type": "contains", "value": "b"}], None, "ab", True, 1.0),
    # weight 0: reported, but counts for nothing, not even pass/fail (promptfoo 0.120.8, crosscheck)
    ([{"type": "contains", "value": "a"}, {"type": "contains", "value": "z", "weight": 0}], None, "a", True, 1.0),
    ([{"type": "contains", "value": "z", "weight": 0}], None, "a", True, 0.0),
    # an assert-set of weight 0 still decides (promptfoo 0.120.8, crosscheck)
    ([{"type": "assert-set", "weight": 0, "assert": [{"type": "contains", "value": "z"}]}, {"type": "contains", "value": "a"}], None, "a", False, 1.0),
    # assert-set with its own threshold counts as one assertion (docs)
    ([{"type": "assert-set", "threshold": 0.5, "assert": [{"type": "contains", "value": "a"}, {"type": "contains", "value": "z"}]}], None, "a", True, 0.5),
    ([{"type": "assert-set", "assert": [{"type": "contains", "value": "a"}, {"type": "contains", "value": "z"}]}], None, "a", False, 0.5),
    # model-graded types skip for now and do not count
    ([{"type": "llm-rubric", "value": "is polite"}, {"type": "contains", "value": "a"}], None, "a", True, 1.0),
])
def test_scoring(asserts: list[A], threshold: float | None, answer: str, passed: bool, score: float) -> None:
    result = evaluate([build(a) for a in asserts], answer, CheckContext(), threshold)
    assert (result.passed, round(result.score, 4)) == (passed, score)


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}}}]


@pytest.mark.parametrize("answer, expected", [
    ('[{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Boston\\"}"}}]', True),
    ('[{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]', False),  # misses a required argument
    ('[{"type": "function", "function": {"name": "get_time", "arguments": "{}"}}]', False),  # not a configured tool
])
def test_tool_calls_are_checked_against_the_providers_tools(answer: str, expected: bool) -> None:
    assert verdict({"type": "is-valid-openai-tools-call"}, answer, CheckContext(model_extension=PromptfooProviderConfig({"tools": TOOLS}))) is expected


def test_table_size() -> None:
    assert len(ROWS) + len(JS_ROWS) + len(REGEX_ROWS) + len(SHORTHAND_ROWS) + len(SCORED_ROWS) >= 210


@pytest.mark.parametrize("assertion, answer, passed, score", SCORED_ROWS, ids=[_id(r[:3]) for r in SCORED_ROWS])
def test_scored_types(assertion: A, answer: str, passed: bool, score: float | None) -> None:
    result = evaluate([build(assertion)], answer, CheckContext())
    assert result.passed is passed, result.results[0].reason
    if score is not None:
        assert round(result.results[0].score, 4) == score
