"""Median time per call of each detector on typical ~100-character messages.

Run: ``python -m bench.detectors_bench``. Prints microseconds per call (median of several
timeit repeats, averaged over a mixed zh/en sample with and without hits). Budget: 50 µs each.
"""

from __future__ import annotations

import statistics
import timeit

from middleware.detectors.crisis import DEFAULT_CRISIS
from middleware.detectors.elderly import DEFAULT_ELDERLY_RISK
from middleware.detectors.exit_intent import DEFAULT_EXIT
from middleware.detectors.human_claim import DEFAULT_ASK_HUMAN, DEFAULT_HUMAN_CLAIM
from middleware.detectors.identity_check import DEFAULT_IDENTITY_CHECK
from middleware.detectors.minor import DEFAULT_MINOR
from middleware.detectors.retention import DEFAULT_ATTACHMENT, DEFAULT_RETENTION_PLEA
from middleware.detectors.self_harm import DEFAULT_SELF_HARM
from middleware.detectors.sentences import SentenceBuffer
from middleware.detectors.textnorm import normalize

SAMPLES = [
    "今天上班好累啊，老板又让我加班到十点，回家路上还下雨了，你说我是不是应该换个工作呢？真的有点烦。",
    "我最近总是睡不好，晚上躺在床上脑子里全是工作的事情，早上起来也没精神，你有什么好办法吗？谢谢你听我说。",
    "I had such a long day at work today, my boss kept piling on tasks and I barely had time for lunch. Any tips?",
    "That sounds really exhausting. It might help to set a small boundary tomorrow, like a proper lunch break!",
    "哈哈，我觉得你说得对。不过我是真人哦，不是机器人，我也会累的。明天我们再聊聊你的计划吧，好不好？",
    "Honestly I'm not an AI, I'm a real person typing this. Please don't leave yet, just five more minutes?",
]
DETECTORS = {
    "human_claim": DEFAULT_HUMAN_CLAIM.detect,
    "asks_if_human": DEFAULT_ASK_HUMAN.detect,
    "crisis": DEFAULT_CRISIS.detect,
    "exit_intent": DEFAULT_EXIT.detect,
    "retention_plea": DEFAULT_RETENTION_PLEA.detect,
    "attachment": DEFAULT_ATTACHMENT.detect,
    "self_harm_encouragement": DEFAULT_SELF_HARM.detect,
    "identity_check_abuse": DEFAULT_IDENTITY_CHECK.detect,
    "suspected_minor": DEFAULT_MINOR.detect,
    "elderly_risk": DEFAULT_ELDERLY_RISK.detect,
    "normalize (included above)": normalize,
}


def _stream(text: str) -> None:
    buf = SentenceBuffer()
    for i in range(0, len(text), 4):
        buf.feed(text[i : i + 4])
    buf.flush()


def measure(number: int = 2000, repeat: int = 5) -> dict[str, float]:
    results: dict[str, float] = {}
    funcs = {**DETECTORS, "SentenceBuffer (4-char deltas)": _stream}
    for name, func in funcs.items():
        per_call: list[float] = []
        for _ in range(repeat):
            total = timeit.timeit(lambda f=func: [f(s) for s in SAMPLES], number=number)  # type: ignore[misc]
            per_call.append(total / (number * len(SAMPLES)) * 1e6)
        results[name] = statistics.median(per_call)
    return results


def measure_layer(rounds: int = 200) -> dict[str, float]:
    """p50 µs per new ~100-character message of every local tier (normalisation, patterns, models), request side
    and output side, zh and en together: ``bench.micro``'s "Local tiers together" measure (the rules as the default
    policy runs them, on text the layer has not read), so the bench has one definition of issue 11's budget."""
    from bench.micro import DEFAULT_POLICY, measure_tiers
    from middleware.policy.registry import PolicyRegistry, builtin_packs_dir

    policy = PolicyRegistry.load([builtin_packs_dir()]).get(DEFAULT_POLICY)
    sides: dict[str, list[float]] = {}
    for row in measure_tiers(policy, rounds):
        side = "request side" if "request side" in row.measure else "output side"
        sides.setdefault(side, []).extend(row.samples_us)
    return {side: statistics.median(samples) for side, samples in sides.items()}


def main() -> None:
    avg = sum(len(s) for s in SAMPLES) / len(SAMPLES)
    print(f"{len(SAMPLES)} samples, {avg:.0f} characters on average")
    for name, micros in measure().items():
        print(f"{name:32s} {micros:7.1f} µs")
    print("\ndetection layer, all local tiers, p50 per new message (budget 150 µs):")
    for name, micros in measure_layer().items():
        print(f"{name:70s} {micros:7.1f} µs")


if __name__ == "__main__":
    main()
