"""``candor label inspect`` and ``candor label apply``: JSON per location, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from middleware.cli.main import main
from middleware.config.deployment import CandorConfig
from middleware.media.cli import producer_code
from tests.media_samples import encode, mp3_bytes, photo, png_with_upstream_label, wav_bytes


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


@pytest.mark.parametrize(("name", "data", "location"), [
    ("a.png", encode(photo(300, 200), "png"), "png_text"), ("a.jpg", encode(photo(300, 200), "jpeg"), "xmp"),
    ("a.webp", encode(photo(300, 200), "webp"), "xmp"), ("a.wav", wav_bytes(seconds=0.5), "riff_chunk"),
    ("a.mp3", mp3_bytes(seconds=0.5), "id3_txxx"),
])
def test_apply_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes,
                            location: str) -> None:
    src, out = tmp_path / name, tmp_path / f"labelled-{name}"
    src.write_bytes(data)
    code, stdout, _ = _run(capsys, "label", "inspect", str(src))
    report = json.loads(stdout)
    assert code == 1 and report["labelled"] == {"implicit": False, "explicit": False, "any": False}

    code, stdout, _ = _run(capsys, "label", "apply", str(src), "--out", str(out), "--producer", "MY-OP")
    assert code == 0 and json.loads(stdout)["implicit"]["ContentProducer"] == "MY-OP"
    code, stdout, _ = _run(capsys, "label", "inspect", str(out))
    report = json.loads(stdout)
    assert code == 0 and report["explicit"]["present"] is True
    assert report["implicit"][location]["valid"] is True
    assert report["implicit"][location]["value"]["ContentProducer"] == "MY-OP"


def test_an_implicit_label_alone_counts_and_is_reported_per_location(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(png_with_upstream_label({"Label": "1", "ContentProducer": "P", "ProduceID": "1",
                                              "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "",
                                              "ReservedCode2": ""}))
    code, stdout, _ = _run(capsys, "label", "inspect", str(path))
    report = json.loads(stdout)
    assert code == 0 and report["implicit"]["xmp"]["found"] and not report["implicit"]["png_text"]["found"]
    assert report["explicit"]["present"] is False


def test_apply_uses_the_policy_band_and_refuses_missing_glyphs(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(encode(photo(400, 300), "png"))
    code, stdout, _ = _run(capsys, "label", "apply", str(src), "--out", str(tmp_path / "b.png"), "--placement", "band",
                           "--text", "本内容由人工智能生成")
    assert code == 0 and json.loads(stdout)["explicit"]["box"][2] == 400
    code, _, err = _run(capsys, "label", "apply", str(src), "--out", str(tmp_path / "c.png"), "--text", "AI生成鹰")
    assert code == 2 and "no glyphs" in err


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello")
    assert _run(capsys, "label", "inspect", str(junk))[0] == 2
    assert _run(capsys, "label", "inspect", str(tmp_path / "missing.png"))[0] == 2
    code, _, err = _run(capsys, "label", "apply", str(junk), "--out", str(tmp_path / "o"))
    assert code == 2 and "not a PNG" in err and not (tmp_path / "o").exists()


def test_the_producer_is_the_option_else_the_operator_else_candor() -> None:
    assert producer_code(CandorConfig(), None) == "candor"
    named = CandorConfig.model_validate({"operator": {"name": "Acme"}})
    assert producer_code(named, None) == "Acme"
    coded = CandorConfig.model_validate({"operator": {"name": "Acme", "code": "C-1"}})
    assert producer_code(coded, None) == "C-1" and producer_code(coded, "P-9") == "P-9"
    assert producer_code(object(), None) == "candor"


def test_apply_refuses_a_label_text_the_font_cannot_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(encode(photo(64, 64), "png"))
    code, _, err = _run(capsys, "label", "apply", str(src), "--out", str(tmp_path / "b.png"), "--text", "AI \U0001F600")
    assert code == 2 and "no glyphs" in err and not (tmp_path / "b.png").exists()


def test_inspect_of_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "label", "inspect", str(tmp_path / "nope.png"))
    assert code == 2 and "cannot read" in err
