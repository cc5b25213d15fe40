"""The benchmark harness works: the stub speaks OpenAI's wire format (checked with the real SDK), the
load generator counts requests and errors correctly, and the runner reports a proxy that fails."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import uvloop

from bench import run as bench_run
from bench.loadgen import LoadResult, Target, run_load
from bench.stub_upstream import StubOptions, content_pieces, start_stub
from bench.variety import name_of
from tests import web
from tests.bench_support import reserved_ports, stub_requests, stub_upstream  # noqa: F401  (reserved_ports: the fixture, autouse)

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-stub-test"
CHUNKS = 5


@pytest.fixture(scope="module")
def stub_port() -> Iterator[int]:
    with stub_upstream("--chunks", str(CHUNKS), "--api-key", KEY) as port:
        yield port


def client(port: int, key: str = KEY) -> openai.OpenAI:
    return web.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)


def test_stub_answers_a_chat_completion_the_sdk_parses(stub_port: int) -> None:
    reply = client(stub_port).chat.completions.create(
        model="any-model", messages=[{"role": "user", "content": "hi"}])
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "any-model"  # echoed, as OpenAI does
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    # the reply names someone new each time (bench/variety.py): the stub's n-th reply carries name_of(n)
    assert choice.message.content == "".join(content_pieces(CHUNKS, name=name_of(stub_requests(stub_port))))
    assert choice.finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > reply.usage.prompt_tokens


def test_stub_streams_chunks_the_sdk_assembles(stub_port: int) -> None:
    chunks = list(client(stub_port).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert contents == content_pieces(CHUNKS, name=name_of(stub_requests(stub_port)))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_stub_replies_differ_in_every_sentence(stub_port: int) -> None:
    """No reply sentence repeats between two replies, so a proxy's reading cache cannot serve the bench."""
    first, second = (client(stub_port).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content or ""
        for _ in range(2))
    assert first != second and "@NAME" not in first + second
    for chunks, sentences in ((12, False), (14, False), (14, True)):   # the bench's replies and long streams
        text = "".join(content_pieces(chunks, sentences))
        complete = [x for x in re.split(r"(?<=[.!?])\s+", text) if x.endswith((".", "!", "?"))]
        assert len(complete) >= 4 and all("@NAME" in x for x in complete), complete


def test_stub_stream_is_chunked_sse_ending_with_done(stub_port: int) -> None:
    with web.stream("POST", f"http://127.0.0.1:{stub_port}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {KEY}"},
                    json={"model": "m", "messages": [], "stream": True,
                          "stream_options": {"include_usage": True}}) as resp:
        body = resp.read().decode()
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["transfer-encoding"] == "chunked"
    events = [e for e in body.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert '"choices":[]' in events[-2] and '"usage":{' in events[-2]  # include_usage chunk
    assert len(events) == 1 + CHUNKS + 1 + 1 + 1


def test_stub_checks_the_key_and_lists_models(stub_port: int) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(stub_port, key="wrong").chat.completions.create(model="m", messages=[])
    assert [m.id for m in client(stub_port).models.list()] == ["stub-model"]


def test_loadgen_counts_requests_and_measures_latency(stub_port: int) -> None:
    before = stub_requests(stub_port)
    result = uvloop.run(run_load(Target("127.0.0.1", stub_port, KEY, "m"), concurrency=4, requests=40,
                                 warmup=8))
    assert result.errors == {}
    assert result.requests == 40
    assert stub_requests(stub_port) - before == 48  # warm-up requests hit the upstream too
    assert result.latency_ms is not None and 0 < result.latency_ms.p50 <= result.latency_ms.p99
    assert result.ttft_ms is None
    assert '"chat.completion"' in result.sample_body


def test_loadgen_measures_streams_and_timed_windows(stub_port: int) -> None:
    target = Target("127.0.0.1", stub_port, KEY, "m", stream=True)
    counted = uvloop.run(run_load(target, concurrency=2, requests=30))
    assert counted.errors == {} and counted.requests == 30
    assert counted.ttft_ms is not None and counted.latency_ms is not None
    assert counted.ttft_ms.p50 <= counted.latency_ms.p50
    timed = uvloop.run(run_load(target, concurrency=3, duration=0.3, warmup_seconds=0.05))
    assert timed.errors == {} and timed.requests > 0
    assert timed.throughput == pytest.approx(timed.requests / timed.elapsed)


def test_loadgen_reports_failed_requests(stub_port: int) -> None:
    result = uvloop.run(run_load(Target("127.0.0.1", stub_port, "wrong", "m"), concurrency=2, requests=6))
    assert result.errors == {"HTTP 401 invalid_api_key": 6}   # counted by the error body's code
    assert result.requests == 0


def test_stub_spaces_out_chunks_with_a_delay_like_a_model() -> None:
    async def scenario() -> LoadResult:
        server = await start_stub(StubOptions(chunks=3, chunk_delay=0.01, api_key=KEY))
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_load(Target("127.0.0.1", port, KEY, "m", stream=True), concurrency=2, requests=4)
        finally:
            server.close()

    result = uvloop.run(scenario())
    assert result.errors == {} and result.requests == 4
    assert result.latency_ms is not None and result.ttft_ms is not None
    # three content chunks, each sent 10 ms after the previous event: the first token comes after one delay
    assert result.latency_ms.p50 >= 25.0
    assert 8.0 <= result.ttft_ms.p50 < result.latency_ms.p50


def test_runner_reports_a_proxy_that_does_not_start(tmp_path: Path, stub_port: int) -> None:
    crash = [sys.executable, "-c", "import sys; print('config is broken'); sys.exit(3)"]
    with pytest.raises(bench_run.BenchError, match=r"(?s)exited with status 3.*config is broken"):
        bench_run.start_proxy(tmp_path, stub_port, None, argv=crash, timeout=10)


def test_runner_measures_direct_scenarios_end_to_end() -> None:
    settings, _ = bench_run.parse_args(["--quick", "--direct-only", "--requests", "20", "--warmup", "2",
                                        "--duration", "0.3", "--scenarios", "nonstream_c1,stream_c16",
                                        "--no-pin"])
    report = bench_run.run(settings, log=lambda _: None)
    assert set(report.direct) == {"nonstream_c1", "stream_c16"}
    assert report.direct["nonstream_c1"].requests == 20
    assert report.direct["stream_c16"].requests > 0
    text = bench_run.render_markdown(report)
    assert "| Non-streaming, 1 in flight | latency p99 |" in text
    assert "| Streaming, 16 in flight | throughput |" in text


def test_every_extra_section_runs_by_default_and_each_can_be_skipped() -> None:
    names = list(bench_run.EXTRA_SECTIONS)
    assert {"micro", "reload", "audit"} <= set(names)
    assert bench_run.parse_args([])[0].extras == names
    assert bench_run.parse_args(["--quick"])[0].extras == names
    assert bench_run.parse_args(["--no-extras"])[0].extras == []
    assert bench_run.parse_args(["--without-reload"])[0].extras == [n for n in names if n != "reload"]
    assert bench_run.parse_args(["--no-extras", "--with-micro"])[0].extras == ["micro"]
    assert bench_run.parse_args(["--direct-only"])[0].extras == []   # a harness check runs no extras
    micro = bench_run.EXTRA_SECTIONS["micro"]
    assert micro.argv("py", REPO, quick=True)[1:] == ["-m", "bench.micro", "--quick"]
    assert bench_run.EXTRA_SECTIONS["audit"].argv("py", REPO)[1:] == [str(REPO / "bench/audit_bench.py")]


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each body row of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_micro_quick_prints_a_verdict_for_every_target() -> None:
    from middleware.detectors import DetectorSet
    from middleware.policy.loader import policy_files
    from middleware.policy.registry import builtin_packs_dir

    packs = policy_files(builtin_packs_dir())
    done = subprocess.run([sys.executable, "-m", "bench.micro", "--quick"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _table_rows(done.stdout, "| Measure |")
    verdicts = {(r[0], r[1].split(",")[0].split(" ")[0]): r[-1] for r in rows}
    expected = [("Guarded streaming: `GuardChain.feed` per chunk", lang) for lang in ("zh", "en")]
    expected += [(f"Detector `{name}` per message", lang) for name in DetectorSet.__dataclass_fields__
                 for lang in ("zh", "en")]
    expected += [(f"Local tiers together, {side} side, per message", lang) for side in ("request", "output")
                 for lang in ("zh", "en")]
    expected += [("Consent check: `LikenessGate.check`, warm cache", "persona"),
                 ("Policy load: `PolicyRegistry.load` of every shipped pack", str(len(packs)))]
    expected += [("Policy load and resolve: one pack (`load_policy_file`)", f"`{p.stem}`") for p in packs]
    for key in expected:
        assert verdicts.get(key) in ("PASS", "MISS"), (key, verdicts.get(key))
    # the tiers on the proxy bench's own user turn and reply (no target: what one proxied request's text costs)
    from bench.loadgen import USER_MESSAGE
    from bench.stub_upstream import content_pieces

    turn, reply = len(USER_MESSAGE.format(name=name_of(0))), len("".join(content_pieces(12, name=name_of(0))))
    assert verdicts.get(("Local tiers, the proxy bench's user turn", str(turn))) == "info"
    assert verdicts.get(("Local tiers, the proxy bench's reply, whole", str(reply))) == "info"
    assert all(r[3].endswith(("µs", "ms")) and r[4].endswith(("µs", "ms")) for r in rows)   # median, p99
    hold = _table_rows(done.stdout, "| Replies |")
    assert [r[0] for r in hold] == ["zh", "en"] and all(r[-1] in ("PASS", "MISS") for r in hold)
    # the rules' start-up warnings go to stderr, never into the Markdown
    assert "output_validator_not_enforced" not in done.stdout


def test_reload_bench_writes_valid_policies_that_differ_in_version(tmp_path: Path) -> None:
    from bench.reload_bench import POLICY_ID, VALUES, write_policy
    from middleware.policy.loader import load_policy_file
    from middleware.policy.registry import builtin_packs_dir

    path = tmp_path / f"{POLICY_ID}.yaml"
    versions = set()
    for value in VALUES:
        write_policy(path, value)
        policy = load_policy_file(path, [builtin_packs_dir()])
        assert policy.id == POLICY_ID and policy.disclosure is not None   # inherited from the default pack
        assert policy.usage is not None and policy.usage.remind_every in (7200.0, 5400.0)
        versions.add(policy.version)
    assert len(versions) == len(VALUES)   # every rewrite is a new version: the proxy really reloads
    assert [p.name for p in tmp_path.iterdir()] == [path.name]   # no temporary file left for the watcher


def test_media_bench_is_an_extra_section_and_prints_its_table() -> None:
    media = bench_run.EXTRA_SECTIONS["media"]
    assert media.argv("py", REPO, quick=True)[1:] == ["-m", "bench.media_bench", "--quick"]
    done = subprocess.run([sys.executable, "-m", "bench.media_bench", "--runs", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| PNG") or line.startswith("| WAV")]
    assert len(rows) == 3 and all(float(r.split("|")[4]) > 0 for r in rows)


def test_the_detector_bench_runs_outside_the_package() -> None:
    from bench import detectors_bench

    timings = detectors_bench.measure(number=1, repeat=1)
    assert set(detectors_bench.DETECTORS) < set(timings) and all(t > 0 for t in timings.values())
    layer = detectors_bench.measure_layer(rounds=1)
    assert len(layer) == 2 and all(t > 0 for t in layer.values())


def test_the_tiers_bench_reads_only_new_text() -> None:
    from bench.micro import fresh_messages, sentences

    for lang in ("zh", "en"):
        messages = fresh_messages(lang, 4000)
        assert len(set(messages)) == len(messages)   # none repeats: the layer's cache cannot answer
        # nor does a sentence: the output side reads a reply sentence by sentence
        read = [s.strip() for m in messages for s in sentences(m) if s.strip()]
        assert len(set(read)) == len(read) > len(messages)
        assert 80 <= sum(len(m) for m in messages) / len(messages) <= 125   # "~100-character messages"
