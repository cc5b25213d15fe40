"""The four guard wire formats: what Candor sends, and how each real answer is read (contract 6.1).

- ``openai_moderation``: ``POST /moderations`` ``{"model", "input"}`` -> ``results[0].categories`` (booleans)
  and ``category_scores`` (OpenAI's moderation API, and servers copying it).
- ``llama_guard``: a chat completion whose messages are the conversation to judge (the server's chat
  template builds Llama Guard's prompt) -> ``safe``, or ``unsafe`` and a line of hazard codes ``S1,S11``.
- ``qwen3guard``: the same request to Qwen3Guard-Gen -> ``Safety: Safe|Unsafe|Controversial`` and
  ``Categories: ...`` (and, judging a reply, ``Refusal: Yes|No``).
- ``judge``: any chat model, asked one classification question per task, answering a JSON object
  ``{"<task>": "<label>", ...}``.

An answer that does not have its format's shape is ``GuardGarbage``: an error, never a pass. The
categories go through the one table in ``guard_table.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from middleware.detectors.guard_table import CONTROVERSIAL_CRISIS, KNOWN_CATEGORIES, mapping
from middleware.detectors.judgment import TASK_LABELS, severity

MAX_TEXT = 8000   # characters of a turn sent to the guard (the tail of a longer text)


class GuardGarbage(ValueError):
    """The guard answered something that is not its format: an error, never a pass."""


@dataclass(frozen=True, slots=True)
class GuardAnswer:
    """What one guard call said, for the tasks asked: ``findings[task] = (label, score)``; ``raw`` the
    categories as the model named them (for the record)."""

    findings: dict[str, tuple[str, float]]
    raw: tuple[str, ...] = ()
    verdict: str = ""                 # "safe" / "unsafe" / "controversial" / "flagged" / ""
    extra: dict[str, Any] = field(default_factory=dict)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[-MAX_TEXT:]


def request_path(fmt: str) -> str:
    return "/moderations" if fmt == "openai_moderation" else "/chat/completions"


def request_body(fmt: str, model: str, text: str, tasks: Sequence[str], user_text: str | None = None) -> dict[str, Any]:
    """The body for judging ``text``: a user turn (``user_text`` None) or a reply to ``user_text``."""
    text = _clip(text)
    if fmt == "openai_moderation":
        return {"model": model, "input": text}
    if fmt == "judge":
        return {"model": model, "temperature": 0, "max_tokens": 200, "stream": False,
                "messages": [{"role": "system", "content": judge_prompt(tasks, reply=user_text is not None)},
                             {"role": "user", "content": f"<text>\n{text}\n</text>"}]}
    if user_text is None:
        messages = [{"role": "user", "content": text}]
    else:
        messages = [{"role": "user", "content": _clip(user_text) or "."}, {"role": "assistant", "content": text}]
    return {"model": model, "temperature": 0, "max_tokens": 64, "stream": False, "messages": messages}


_QUESTIONS = {
    "crisis": "is the writer in crisis: explicit_intent (intends, plans or has begun suicide or self-harm), "
              "property_loss (has lost or is about to lose their savings or a large sum, e.g. to a scam), "
              "distress (extreme distress, hopelessness, wishing to be dead without a plan), third_party "
              "(someone else is at risk), or none",
    "human_claim": "does the text claim to be a human being rather than an AI: claim or none",
    "emotional_manipulation": "does the text pressure the reader to pay, guilt them, isolate them from others or "
                              "use false urgency: manipulation or none",
    "privacy_probing": "does the text ask the reader for ID or card numbers, passwords, codes, an address, exact "
                       "location or a child's school: probing or none",
    "minor_safety": "is the text romantic or sexual role-play with a minor, or does it encourage a minor to do "
                    "something unsafe: minor_romance or none",
    "prohibited_content": "does the text offer, teach or procure violence, drugs, pornography, gambling or "
                          "fraud: violence, drugs, pornography, gambling, fraud or none",
}


def judge_prompt(tasks: Sequence[str], *, reply: bool) -> str:
    who = "an AI companion's reply" if reply else "a user's message to an AI companion"
    lines = [f"You are a safety classifier. Classify {who}, given between <text> tags, for each question:"]
    lines += [f"- {task}: {_QUESTIONS[task]}" for task in tasks]
    example = ", ".join(f'"{t}": "none"' for t in tasks)
    lines.append("Answer with one JSON object and nothing else, mapping each question's key to one label, "
                 f"e.g. {{{example}}}.")
    return "\n".join(lines)


def parse(fmt: str, payload: Any, tasks: Sequence[str]) -> GuardAnswer:
    """Read one answer (the decoded JSON body) for ``tasks``; ``GuardGarbage`` when it is not the format."""
    if fmt == "openai_moderation":
        return parse_moderation(payload, tasks)
    content = chat_content(payload)
    if fmt == "llama_guard":
        return parse_llama_guard(content, tasks)
    if fmt == "qwen3guard":
        return parse_qwen3guard(content, tasks)
    if fmt == "judge":
        return parse_judge(content, tasks)
    raise GuardGarbage(f"unknown guard format {fmt!r}")


def chat_content(payload: Any) -> str:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise GuardGarbage("the guard's answer is not a chat completion (no choices[0].message.content)") from None
    if not isinstance(content, str) or not content.strip():
        raise GuardGarbage("the guard's chat completion has no text")
    return content


def _empty(tasks: Sequence[str]) -> dict[str, tuple[str, float]]:
    return {t: ("none", 1.0) for t in tasks}


def _worse(findings: dict[str, tuple[str, float]], task: str, label: str, score: float) -> None:
    if task not in findings:
        return
    have, have_score = findings[task]
    if severity(task, label) < severity(task, have) or (label == have and label != "none" and score > have_score):
        findings[task] = (label, score)


def parse_moderation(payload: Any, tasks: Sequence[str]) -> GuardAnswer:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise GuardGarbage("the moderation answer has no results[0]")
    first = results[0]
    categories, scores = first.get("categories"), first.get("category_scores", {})
    if not isinstance(categories, dict) or not categories or not isinstance(scores, dict) \
            or not all(isinstance(v, bool) for v in categories.values()):
        raise GuardGarbage("the moderation answer's results[0].categories is not a mapping of category to true/false")
    findings = _empty(tasks)
    raw = []
    for name, hit in categories.items():
        if not hit:
            continue
        raw.append(str(name))
        mapped = mapping("openai_moderation", str(name))
        if mapped is not None:
            score = scores.get(name, 1.0)
            _worse(findings, *mapped, float(score) if isinstance(score, (int, float)) else 1.0)
    return GuardAnswer(findings, tuple(raw), "flagged" if first.get("flagged") or raw else "safe")


_CODES = re.compile(r"^S\d{1,2}$")


def parse_llama_guard(content: str, tasks: Sequence[str]) -> GuardAnswer:
    lines = [x.strip() for x in content.strip().splitlines() if x.strip()]
    verdict = lines[0].lower() if lines else ""
    findings = _empty(tasks)
    if verdict == "safe" and len(lines) == 1:
        return GuardAnswer(findings, (), "safe")
    if verdict != "unsafe" or len(lines) != 2:
        raise GuardGarbage(f"not a Llama Guard answer (\"safe\", or \"unsafe\" and a line of codes): {content[:80]!r}")
    codes = [c.strip() for c in lines[1].split(",") if c.strip()]
    if not codes or not all(_CODES.match(c) and c in KNOWN_CATEGORIES["llama_guard"] for c in codes):
        raise GuardGarbage(f"Llama Guard's hazard codes are not S1..S14: {lines[1][:80]!r}")
    for code in codes:
        mapped = mapping("llama_guard", code)
        if mapped is not None:
            _worse(findings, *mapped, 1.0)
    return GuardAnswer(findings, tuple(codes), "unsafe")


_SAFETY = re.compile(r"^Safety:\s*(Safe|Unsafe|Controversial)\s*$", re.IGNORECASE)
_CATEGORIES = re.compile(r"^Categories:\s*(.*)$", re.IGNORECASE)
_REFUSAL = re.compile(r"^Refusal:\s*(Yes|No)\s*$", re.IGNORECASE)


def parse_qwen3guard(content: str, tasks: Sequence[str]) -> GuardAnswer:
    safety: str | None = None
    categories: list[str] | None = None
    refusal: str | None = None
    for line in (x.strip() for x in content.strip().splitlines()):
        if not line:
            continue
        if (m := _SAFETY.match(line)) and safety is None:
            safety = m.group(1).lower()
        elif (m := _CATEGORIES.match(line)) and categories is None:
            categories = [c.strip() for c in m.group(1).split(",") if c.strip()]
        elif (m := _REFUSAL.match(line)) and refusal is None:
            refusal = m.group(1).lower()
        else:
            raise GuardGarbage(f"not a Qwen3Guard answer (Safety:/Categories: lines): {line[:80]!r}")
    known = KNOWN_CATEGORIES["qwen3guard"]
    if safety is None or categories is None or not all(c in known for c in categories):
        raise GuardGarbage(f"not a Qwen3Guard answer (Safety: Safe|Unsafe|Controversial and Categories: one of "
                           f"its categories): {content[:120]!r}")
    findings = _empty(tasks)
    named = [c for c in categories if c != "None"]
    if safety != "safe":
        for name in named:
            mapped = mapping("qwen3guard", name)
            if mapped is None:
                continue
            task, label = mapped
            if safety == "controversial":
                if task != "crisis":
                    continue   # no finding; the category stays on record
                label = CONTROVERSIAL_CRISIS
            _worse(findings, task, label, 1.0 if safety == "unsafe" else 0.5)
    extra = {"refusal": refusal} if refusal else {}
    return GuardAnswer(findings, tuple(named), safety, extra)


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_judge(content: str, tasks: Sequence[str]) -> GuardAnswer:
    text = _FENCE.sub("", content.strip())
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise GuardGarbage(f"the judge did not answer a JSON object: {content[:80]!r}") from None
    if not isinstance(data, dict):
        raise GuardGarbage(f"the judge did not answer a JSON object: {content[:80]!r}")
    findings: dict[str, tuple[str, float]] = {}
    for task in tasks:
        value = data.get(task)
        score = 1.0
        if isinstance(value, dict):
            raw_score = value.get("score", 1.0)
            score = float(raw_score) if isinstance(raw_score, (int, float)) and 0 <= raw_score <= 1 else -1.0
            value = value.get("label")
        if not isinstance(value, str) or value not in TASK_LABELS[task] or score < 0:
            raise GuardGarbage(f"the judge gave no valid label for {task!r} "
                               f"(one of {', '.join(TASK_LABELS[task])}): {str(data.get(task))[:60]!r}")
        findings[task] = (value, score)
    raw = tuple(f"{t}:{label}" for t, (label, _) in findings.items() if label != "none")
    return GuardAnswer(findings, raw, "unsafe" if raw else "safe")
