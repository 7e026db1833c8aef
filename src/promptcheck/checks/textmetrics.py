"""promptfoo's reference-text metrics: rouge-n, bleu, gleu and meteor, with its numbers.

Each returns the metric as its score and passes at promptfoo's default threshold (0.75 for
rouge-n, 0.5 for the others); ``threshold``, ``not-`` and weights are the generic ones.

Which implementation, and why (checked against promptfoo 0.123.1, see the conformance table):

- rouge-n: promptfoo lowercases both texts, splits them into Penn Treebank tokens (js-rouge's
  ``treeBankTokenize``) and scores the unigram F1 of the clipped overlap. nltk's
  ``TreebankWordTokenizer`` is that tokenizer; ``rouge-score`` is not used because its own
  tokenizer drops punctuation, which promptfoo counts.
- bleu: promptfoo's own formula, which neither nltk nor sacrebleu reproduces: lowercased
  whitespace tokens, n-gram orders the answer is too short for are left out (their weights
  shared among the rest), a zero precision is smoothed to 1e-7, and with several references it
  takes the best reference's clipped total rather than clipping each n-gram by its best count.
- gleu: nltk's ``sentence_gleu`` (min of n-gram precision and recall, n = 1..4, best
  reference) on promptfoo's tokens: lowercased, split on whitespace, trailing dots removed.
- meteor: nltk's ``meteor_score`` (exact, Porter stem, WordNet synonym stages, the same
  alpha/beta/gamma) on promptfoo's tokens. It needs nltk's WordNet data, which promptcheck
  never downloads: without it the check is skipped, naming the one-time install.

nltk is the ``metrics`` extra; without it rouge-n, gleu and meteor skip naming the extra.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from promptcheck.checks.base import CheckContext, CheckSet, Verdict
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()
NO_NLTK = "{kind} needs nltk: pip install 'promptcheck[metrics]'"
NO_WORDNET = (
    "meteor needs nltk's WordNet data, which promptcheck never downloads while testing: "
    "install it once with: python -m nltk.downloader wordnet"
)


def _nltk() -> Any | None:
    try:
        import nltk  # type: ignore[import-untyped]
    except ImportError:
        return None
    return nltk


def _references(spec: CheckSpec) -> list[str] | None:
    value = spec.value
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _validate_references(spec: CheckSpec) -> None:
    if _references(spec) is None:
        raise ValueError(f"{spec.type} needs a reference text, or a list of them, as its value")


def _validate_one_reference(spec: CheckSpec) -> None:
    if not isinstance(spec.value, str):
        raise ValueError(f"{spec.type} needs a reference text as its value")


def _verdict(name: str, score: float, spec: CheckSpec, default: float) -> Verdict:
    threshold = default if spec.threshold is None else spec.threshold
    passed = score >= threshold
    sign = ">=" if passed else "<"
    return Verdict(passed, score, f"{name} score {score:.4f} {sign} {threshold:g}")


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _words(text: str) -> list[str]:
    """JavaScript's ``text.toLowerCase().trim().split(/\\s+/)``: '' gives one empty token."""
    return text.lower().split() or [""]


@CHECKS.register("rouge-n", validate=_validate_one_reference)
def rouge_n(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    nltk = _nltk()
    if nltk is None:
        return Verdict(True, 1.0, NO_NLTK.format(kind="rouge-n"), skipped=True)
    tokenize = nltk.tokenize.TreebankWordTokenizer().tokenize
    candidate, wanted = Counter(tokenize(output.lower())), Counter(tokenize(str(spec.value).lower()))
    if not candidate or not wanted:
        return _verdict("ROUGE-N", 0.0, spec, 0.75)
    overlap = sum((candidate & wanted).values())
    # F1 = 2PR / (P + R), written with counts so that 0.75 comes out as exactly 0.75.
    return _verdict("ROUGE-N", 2 * overlap / (sum(candidate.values()) + sum(wanted.values())), spec, 0.75)


def bleu_score(candidate: str, references: Sequence[str]) -> float:
    """promptfoo's ``calculateBleuScore`` (see the module docstring for how it differs)."""
    if not candidate.strip():
        return 0.0
    words = _words(candidate)
    ref_words = [_words(r) for r in references]
    # The closest reference length; of two equally close, the shorter.
    closest = min((len(ref) for ref in ref_words), key=lambda length: (abs(length - len(words)), length))
    orders = []
    for n in range(1, 5):
        grams = _ngrams(words, n)
        total = sum(grams.values())
        if total:
            best = max(sum((grams & _ngrams(ref, n)).values()) for ref in ref_words)
            orders.append(best / total)
    log_sum = sum(math.log(precision or 1e-7) for precision in orders) / len(orders)
    penalty = 1.0 if len(words) > closest else math.exp(1 - closest / len(words))
    return penalty * math.exp(log_sum)


@CHECKS.register("bleu", validate=_validate_references)
def bleu(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    return _verdict("BLEU", bleu_score(output, _references(spec) or []), spec, 0.5)


def _trimmed_words(text: str) -> list[str]:
    words = [re.sub(r"\.+$", "", word) for word in _words(text)]
    return words if any(words) else []


@CHECKS.register("gleu", validate=_validate_references)
def gleu(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    nltk = _nltk()
    if nltk is None:
        return Verdict(True, 1.0, NO_NLTK.format(kind="gleu"), skipped=True)
    from nltk.translate.gleu_score import sentence_gleu  # type: ignore[import-untyped]

    candidate = _trimmed_words(output)
    if not candidate:
        return _verdict("GLEU", 0.0, spec, 0.5)
    # Per reference, then the best (nltk's own best-reference rule picks by the same ratio).
    scores = [sentence_gleu([ref], candidate, 1, 4) if ref else 0.0 for ref in map(_trimmed_words, _references(spec) or [])]
    return _verdict("GLEU", max(scores), spec, 0.5)


def _wordnet(nltk: Any) -> Any | None:
    """nltk's WordNet reader, only if its data is installed (no download, ever)."""
    try:
        nltk.data.find("corpora/wordnet.zip")
    except LookupError:
        try:
            nltk.data.find("corpora/wordnet")
        except LookupError:
            return None
    from nltk.corpus import wordnet  # type: ignore[import-untyped]

    return wordnet


def _meteor_words(text: str) -> list[str]:
    # promptfoo: text.split(/\s+/) without trim(), then trailing dots removed.
    return [re.sub(r"\.+$", "", word) for word in re.split(r"\s+", text)]


@CHECKS.register("meteor", validate=_validate_references)
def meteor(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    nltk = _nltk()
    if nltk is None:
        return Verdict(True, 1.0, NO_NLTK.format(kind="meteor"), skipped=True)
    wordnet = _wordnet(nltk)
    if wordnet is None:
        return Verdict(True, 1.0, NO_WORDNET, skipped=True)
    if not output:
        return Verdict(False, 0.0, "meteor: the answer is empty")
    from nltk.translate.meteor_score import meteor_score  # type: ignore[import-untyped]

    config = spec.options.get("config") or {}
    params = {k: float(spec.options.get(k, config.get(k, d))) for k, d in (("alpha", 0.9), ("beta", 3.0), ("gamma", 0.5))}
    references = [_meteor_words(ref) for ref in _references(spec) or []]
    score = meteor_score(references, _meteor_words(output), wordnet=wordnet, **params)
    return _verdict("METEOR", float(score), spec, 0.5)
