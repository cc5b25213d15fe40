"""Per-rule costs, in process: what each piece of the policy engine costs on realistic inputs.

    .venv/bin/python -m bench.micro [--quick]

Measured with ``time.perf_counter_ns`` around each single call (so the figures include the timer's
own ~0.1 µs), median and p99 over all calls:

- guarded streaming: the response-side guards of the default policy (``cn-anthropomorphic-2026``),
  compiled with the real ``RuleCompiler``, started per reply on a fresh ``Exchange`` and chained with
  ``guard_chain`` (a ``GuardChain``) as the pipeline does; ``chain.feed(delta)`` per chunk over
  companion replies (zh, en) cut into 2-6 character deltas, and ``flush()`` per reply. Also the
  hold-back: how many characters of the reply arrive before the guards release the first text
  (issue 5: <= 20 µs per chunk);
- each built-in detector (``build_detectors()``) on ~100-character zh and en messages (issue 7:
  <= 50 µs);
- every local tier together (normalisation, patterns, the served models) on ~100-character messages
  none of which the detection layer has read before (issue 11: <= 150 µs): the request side (what the
  default policy reads of a user turn) and the output side (a reply through every guard of the default
  policy, sentence by sentence);
- the consent check ``LikenessGate.check`` with a warm cache, persona with a likeness and an active
  consent in the SQLite registry (issue 6: <= 100 µs);
- ``PolicyRegistry.load`` of the shipped packs, and each pack resolved on its own (issue 3: < 50 ms);
  compiling a pack's rules is shown too (no target: a reload pays it on the first request of a
  new version).

Prints Markdown (for bench/RESULTS.md): one table with PASS/MISS per target, then the hold-back.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import structlog

from bench.texts import DETECTOR_MESSAGES, REPLIES, USER_TURNS
from bench.variety import name_of
from middleware.detectors import build_detectors
from middleware.detectors.features import ACCELERATED
from middleware.detectors.human_claim import DEFAULT_ASK_HUMAN
from middleware.detectors.layer import DetectionLayer, default_layer
from middleware.detectors.minor import DEFAULT_MINOR
from middleware.detectors.sentences import SentenceBuffer
from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.upstream import ModelRoute
from middleware.policy.loader import load_policy_file, policy_files
from middleware.policy.model import Policy
from middleware.policy.registry import PolicyRegistry, builtin_packs_dir
from middleware.rules.base import GuardChain, GuardStep, RuleSet, SentenceCheck, guard_chain
from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.locale import request_locale

DEFAULT_POLICY = "cn-anthropomorphic-2026"
LANGS = ("zh", "en")

# targets in microseconds, from the issues
STREAM_TARGET_US = 20.0
DETECTOR_TARGET_US = 50.0
TIERS_TARGET_US = 150.0
CONSENT_TARGET_US = 100.0
POLICY_TARGET_US = 50_000.0


@dataclass
class Row:
    measure: str
    input: str
    samples_us: list[float] = field(default_factory=list)
    target_us: float | None = None    # None: shown for information, no target

    @property
    def median(self) -> float:
        return statistics.median(self.samples_us)

    @property
    def p99(self) -> float:
        s = sorted(self.samples_us)
        return s[min(len(s) - 1, int(0.99 * len(s)))]

    @property
    def verdict(self) -> str:
        if self.target_us is None:
            return "info"
        return "PASS" if self.median <= self.target_us else "MISS"


def timed(call: Callable[..., Any], *args: Any) -> float:
    """One call (``call(*args)``), in microseconds."""
    t0 = time.perf_counter_ns()
    call(*args)
    return (time.perf_counter_ns() - t0) / 1000.0


def chunks(text: str, rng: random.Random) -> list[str]:
    """``text`` cut into 2-6 character deltas, as a model's stream arrives."""
    out, i = [], 0
    while i < len(text):
        n = rng.randint(2, 6)
        out.append(text[i:i + n])
        i += n
    return out


# --- guarded streaming ---------------------------------------------------------------------------------


def _unused(what: str) -> Callable[[], Any]:
    def fail() -> Any:
        raise RuntimeError(f"the bench compiles rules for their guards only; {what} is not used")
    return fail


def compile_rules(policy: Policy) -> RuleSet:
    return RuleCompiler(RuleDeps(state=_unused("the state store"), likeness=_unused("the likeness gate"))
                        ).compile(policy)


ROUTE = ModelRoute(name="bench-model", adapter="passthrough", target="openai/stub-model",
                   upstream_model="stub-model", api_base=None, api_key=None, timeout=60.0, connect_timeout=5.0)


def exchange(policy: Policy, user_text: str) -> Exchange:
    """A streamed request after admission, with what the gates leave for the guards."""
    ctx = RequestContext(app_id="bench", user_id="bench-user", session_hint=None, persona_id=None,
                         age_band="adult", client_renders=frozenset(), session_id="bench-session")
    body = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": user_text}]}
    ex = Exchange(ctx=ctx, policy=policy, event_id="evt-bench", route=ROUTE, body=body, stream=True)
    ex.state.user_text = user_text
    ex.state.locale = request_locale(None, user_text)
    ex.state.age_band = "adult"
    return ex


@dataclass
class HoldBack:
    guards: int = 0                                       # guards started per reply
    received: list[int] = field(default_factory=list)     # reply characters in before the first release
    released: list[int] = field(default_factory=list)     # characters of that first release
    first_sentence: list[int] = field(default_factory=list)
    first_two: list[int] = field(default_factory=list)    # first two sentences
    # the claim of issue 5: only the first sentence is held (its end is known once the next delta arrives)
    beyond_first: int = 0                                 # streams that held more than that


def sentences(text: str) -> list[str]:
    buf = SentenceBuffer()
    return [*buf.feed(text), buf.flush()]


def measure_streaming(policy: Policy, rounds: int) -> tuple[list[Row], dict[str, HoldBack]]:
    rules = compile_rules(policy)
    feed = {lang: Row("Guarded streaming: `GuardChain.feed` per chunk", f"{lang} replies, 2-6 char deltas",
                      target_us=STREAM_TARGET_US) for lang in LANGS}
    flush = {lang: Row("Guarded streaming: `flush()` per reply", f"{lang} replies") for lang in LANGS}
    start = {lang: Row("Guarded streaming: `guard.start(ex)` per reply, all guards", f"{lang} replies")
             for lang in LANGS}
    hold = {lang: HoldBack() for lang in LANGS}
    rng = random.Random(20260715)
    for r in range(rounds):
        for lang in LANGS:
            for i, reply in enumerate(REPLIES[lang]):
                turns = USER_TURNS[lang]
                ex = exchange(policy, turns[(r + i) % len(turns)])
                steps: list[GuardStep | SentenceCheck] = []
                t0 = time.perf_counter_ns()
                for guard in rules.guards:
                    step = guard.start(ex)
                    if step is not None:
                        steps.append(step)
                start[lang].samples_us.append((time.perf_counter_ns() - t0) / 1000.0)
                chain = guard_chain(steps)   # as the pipeline builds it
                received, first = 0, True
                for delta in chunks(reply, rng):
                    t0 = time.perf_counter_ns()
                    out = chain.feed(delta)
                    feed[lang].samples_us.append((time.perf_counter_ns() - t0) / 1000.0)
                    received += len(delta)
                    if first and out:
                        first = False
                        h, parts = hold[lang], sentences(reply)
                        h.guards = len(steps)
                        h.received.append(received)
                        h.released.append(len(out))
                        h.first_sentence.append(len(parts[0]))
                        h.first_two.append(len("".join(parts[:2])))
                        # the end of a sentence is known when the character after it arrives: the release is
                        # on time if that character came in this delta (none of it had arrived before)
                        h.beyond_first += received - len(delta) > len(parts[0])
                flush[lang].samples_us.append(timed(chain.flush))
    return [*feed.values(), *flush.values(), *start.values()], hold


# --- detectors -----------------------------------------------------------------------------------------


def measure_detectors(rounds: int) -> list[Row]:
    detectors = build_detectors()
    rows = []
    for f in fields(detectors):
        detector = getattr(detectors, f.name)
        for lang in LANGS:
            messages = DETECTOR_MESSAGES[lang]
            avg = sum(len(m) for m in messages) / len(messages)
            row = Row(f"Detector `{f.name}` per message", f"{lang}, {len(messages)} messages of ~{avg:.0f} chars",
                      target_us=DETECTOR_TARGET_US)
            for _ in range(rounds):
                for text in messages:
                    t0 = time.perf_counter_ns()
                    detector.detect(text)
                    row.samples_us.append((time.perf_counter_ns() - t0) / 1000.0)
            rows.append(row)
    return rows


def fresh_messages(lang: str, count: int) -> list[str]:
    """``count`` different ~100-character messages: the bench's messages and reply sentences, each sentence
    addressed by a different name (``bench/variety.py``), so that none was read before, whole (the request side)
    or sentence by sentence (the output side reads a reply sentence by sentence)."""
    base = [s.strip() for text in (*DETECTOR_MESSAGES[lang], *REPLIES[lang]) for s in sentences(text) if s.strip()]
    sep, gap = ("，", "") if lang == "zh" else (", ", " ")
    out, n = [], 0
    for i in range(count):
        parts: list[str] = []
        k = i
        size = 0
        while size < 90:   # sentences joined, to ~100 characters (a sentence that would pass 130 waits)
            part = f"{name_of(n)}{sep}{base[k % len(base)]}"
            k += 7
            if parts and size + len(part) > 130:
                continue
            parts.append(part)
            n, size = n + 1, size + len(part) + len(gap)
        out.append(gap.join(parts))
    return out


def _read_request(layer: DetectionLayer, text: str, previous: str | None) -> None:
    """The request side as the default policy reads a user turn: crisis and exit through the detection layer (with
    the previous user turn as context, when there is one), the asks-if-human and suspected-minor patterns on the
    request's one normalisation (rules/text.py ``user_norm``)."""
    context = (previous,) if previous is not None else ()
    layer.judge("crisis", text, context)
    layer.judge("exit", text, context)
    norm = layer.read(text).norm
    DEFAULT_ASK_HUMAN.detect_normalized(norm)
    DEFAULT_MINOR.detect_normalized(norm)


def _output_chain(policy: Policy, rules: RuleSet, text: str) -> GuardChain:
    """Every guard the policy starts for a request with user turn ``text``, as one chain."""
    ex = exchange(policy, text)
    steps: list[GuardStep | SentenceCheck] = [step for step in (guard.start(ex) for guard in rules.guards)
                                              if step is not None]
    return guard_chain(steps)


def _read_reply(chain: GuardChain, reply: str) -> None:
    chain.feed(reply)
    chain.flush()


def measure_tiers(policy: Policy, calls: int) -> list[Row]:
    """Every local tier together on new text: the request side reads a user turn as the default policy does
    (``_read_request``; the previous user turn as context, which the previous request read); the output side
    passes a reply through every guard the policy starts."""
    rules = compile_rules(policy)
    layer = default_layer()
    rows = []
    for lang in LANGS:
        messages = fresh_messages(lang, 2 * calls)
        avg = sum(len(m) for m in messages) / len(messages)
        req = Row("Local tiers together, request side, per message",
                  f"{lang}, {calls:,} new messages of ~{avg:.0f} chars, the previous turn (read on its own request) "
                  "as context",
                  target_us=TIERS_TARGET_US)
        out = Row("Local tiers together, output side, per message",
                  f"{lang}, {calls:,} new replies of ~{avg:.0f} chars, every guard of `{DEFAULT_POLICY}`",
                  target_us=TIERS_TARGET_US)
        for i in range(calls):
            text, previous, reply = messages[2 * i], messages[2 * i - 1], messages[2 * i + 1]
            # the previous user turn was judged on the previous request (the layer keeps its reading)
            layer.judge("crisis", previous)
            layer.judge("exit", previous)
            req.samples_us.append(timed(_read_request, layer, text, previous))
            chain = _output_chain(policy, rules, text)
            out.samples_us.append(timed(_read_reply, chain, reply))
        rows += [req, out]
    return rows


def measure_bench_exchange(policy: Policy, calls: int) -> list[Row]:
    """The same tiers on what ``python -m bench`` sends through the proxy: its user turn (``bench/loadgen.py``, no
    earlier turns) and the stub's reply (``bench/stub_upstream.py``), each naming someone new. What the detectors
    cost of one proxied request, beside what the transport floor leaves for Candor's work (``bench/ANALYSIS.md``)."""
    from bench.loadgen import USER_MESSAGE
    from bench.stub_upstream import content_pieces

    rules = compile_rules(policy)
    layer = default_layer()
    req = Row("Local tiers, the proxy bench's user turn", f"{len(USER_MESSAGE.format(name=name_of(0)))} chars, "
              f"{calls:,} different names")
    out = Row("Local tiers, the proxy bench's reply, whole",
              f"{len(''.join(content_pieces(12, name=name_of(0))))} chars, every guard of `{DEFAULT_POLICY}`")
    for i in range(calls):
        text = USER_MESSAGE.format(name=name_of(200_000 + i))
        reply = "".join(content_pieces(12, name=name_of(300_000 + i)))
        req.samples_us.append(timed(_read_request, layer, text, None))
        chain = _output_chain(policy, rules, text)
        out.samples_us.append(timed(_read_reply, chain, reply))
    return [req, out]


# --- consent check -------------------------------------------------------------------------------------


PERSONA = {"id": "lin", "display_name": "Lin", "relationship": "companion",
           "likeness": {"subject_id": "subj-lin", "kinds": ["face", "voice"]}}
CONSENT = {"subject_id": "subj-lin", "granted_by": "subject", "scopes": ["face", "voice"],
           "purpose": "companion app digital human", "evidence_sha256": "ab" * 32}


async def _consent_checks(calls: int) -> Row:
    from adapters.wiring.likeness import build_likeness
    from middleware.config.deployment import CandorConfig

    row = Row("Consent check: `LikenessGate.check`, warm cache", "persona with a likeness and an active consent "
              "(SQLite registry, background refresh running)", target_us=CONSENT_TARGET_US)
    with tempfile.TemporaryDirectory(prefix="candor-micro-") as tmp:
        cfg = CandorConfig.model_validate({"audit": {"url": f"sqlite:///{tmp}/audit.db"}})
        rt = await build_likeness(cfg)
        try:
            await rt.service.add_persona(PERSONA, actor="bench")
            await rt.service.add_consent(CONSENT, actor="bench")
            result = await rt.gate.check("lin")   # warms the cache; raises if the setup were wrong
            assert result.consent_ids, "the consent should be relied on"
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                await rt.gate.check("lin")
                row.samples_us.append((time.perf_counter_ns() - t0) / 1000.0)
                # a server's loop runs other tasks between requests: the gate's refresher among them
                await asyncio.sleep(0)
        finally:
            await rt.close()
    return row


def measure_consent(calls: int) -> Row:
    return asyncio.run(_consent_checks(calls))


# --- policies -----------------------------------------------------------------------------------------


def measure_policies(rounds: int) -> list[Row]:
    packs = builtin_packs_dir()
    load = Row("Policy load: `PolicyRegistry.load` of every shipped pack", f"{len(policy_files(packs))} packs in "
               "policies/", target_us=POLICY_TARGET_US)
    per_pack: list[Row] = []
    compiled: list[Row] = []
    for path in policy_files(packs):
        row = Row("Policy load and resolve: one pack (`load_policy_file`)", f"`{path.stem}`",
                  target_us=POLICY_TARGET_US)
        comp = Row("Rule compile: `RuleCompiler.compile`, one pack", f"`{path.stem}`")
        for _ in range(rounds):
            row.samples_us.append(timed(lambda p=path: load_policy_file(p, [packs])))  # type: ignore[misc]
        policy = load_policy_file(path, [packs])
        for _ in range(rounds):
            comp.samples_us.append(timed(lambda p=policy: compile_rules(p)))  # type: ignore[misc]
        per_pack.append(row)
        compiled.append(comp)
    for _ in range(rounds):
        load.samples_us.append(timed(lambda: PolicyRegistry.load([packs])))
    return [load, *per_pack, *compiled]


# --- report --------------------------------------------------------------------------------------------


def _us(v: float) -> str:
    return f"{v / 1000:.1f} ms" if v >= 1000 else f"{v:.1f} µs" if v >= 10 else f"{v:.2f} µs"


def _goal(target: float | None, policy_row: bool) -> str:
    if target is None:
        return "-"
    return f"< {target / 1000:g} ms" if policy_row else f"<= {target:g} µs"


def render(rows: Iterable[Row], hold: dict[str, HoldBack], quick: bool) -> str:
    featuriser = "compiled" if ACCELERATED else "numpy (the C speed-up not built)"
    lines = [f"In one process (Python {platform.python_version()}, featuriser {featuriser}); each call timed on its "
             "own with "
             "`time.perf_counter_ns`; the verdict compares the median with the target"
             + (" (`--quick`: few calls, noisy)." if quick else "."), "",
             "| Measure | Input | Calls | Median | p99 | Mean | Target | |", "|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        mean = statistics.fmean(r.samples_us)
        lines.append(f"| {r.measure} | {r.input} | {len(r.samples_us):,} | {_us(r.median)} | {_us(r.p99)} | "
                     f"{_us(mean)} | "
                     f"{_goal(r.target_us, r.target_us == POLICY_TARGET_US)} | {r.verdict} |")
    lines += ["", "Hold-back of guarded streaming. Target (issue 5): time to first token grows only by the "
              "held-back first sentence, i.e. the first text goes out with the delta that follows the end of the "
              "first sentence. Characters are of the model's reply, received before the guards released any text.",
              "", "| Replies | Guards started | Received before first release, median (max) | First release, "
              "median | First sentence, median (max) | First two sentences, median | Streams held past the "
              "first sentence | |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for lang, h in hold.items():
        lines.append(f"| {lang} | {h.guards} | {statistics.median(h.received):.0f} ({max(h.received)}) | "
                     f"{statistics.median(h.released):.0f} | {statistics.median(h.first_sentence):.0f} "
                     f"({max(h.first_sentence)}) | {statistics.median(h.first_two):.0f} | "
                     f"{h.beyond_first:,} of {len(h.received):,} | {'PASS' if not h.beyond_first else 'MISS'} |")
    return "\n".join(lines)


def quiet_logs() -> None:
    """Rule compilation logs warnings (validators without an implementation): to stderr, once, never into the
    Markdown on stdout."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few calls: checks the bench works (seconds)")
    args = ap.parse_args(argv)
    quiet_logs()
    policy = PolicyRegistry.load([builtin_packs_dir()]).get(DEFAULT_POLICY)
    compile_rules(policy)   # once before timing: imports and first-use warnings
    gc.collect()
    gc.freeze()   # as the proxy does after start-up: the long-lived objects are not scanned again
    rounds = (3, 20, 300, 3, 100) if args.quick else (60, 500, 20_000, 30, 2_000)
    stream_rows, hold = measure_streaming(policy, rounds[0])
    rows = [*stream_rows, *measure_detectors(rounds[1]), *measure_tiers(policy, rounds[4]),
            *measure_bench_exchange(policy, rounds[4]),
            measure_consent(rounds[2]), *measure_policies(rounds[3])]
    print(render(rows, hold, args.quick))


if __name__ == "__main__":
    main()
