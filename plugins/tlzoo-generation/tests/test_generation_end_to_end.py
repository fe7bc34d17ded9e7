"""The real CLI on tiny-gpt: train, evaluate (perplexity from the evaluation loss), predict with generation
options, stream on the terminal and over HTTP (server-sent events), and the errors that write nothing."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tlzoo_generation.sample import paths

import tlzoo

PROMPT = "The plural of 'cat' is"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("generation") / "run"
    result = cli("train", "text-generation", "--backbone", "tiny-gpt", "--train", paths()["train"],
                 "--validation", paths()["validation"], "--output", str(output), "--max-steps", "12",
                 "--learning-rate", "3e-3", "--batch-size", "8", "--max-new-tokens", "6", "--seed", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    return output


def test_training_reports_the_completion_metrics_and_perplexity(trained: Path, tmp_path: Path) -> None:
    validation = json.loads((trained / "metrics.json").read_text())["validation"]
    assert {"exact_match", "rougeL", "distinct", "gen_len", "loss", "perplexity"} <= set(validation)
    assert validation["perplexity"] == pytest.approx(math.exp(validation["loss"]))
    evaluated = cli("evaluate", str(trained), "--data", paths()["validation"], "--output", str(tmp_path / "m.json"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "m.json").read_text()) == pytest.approx(validation)


def test_the_evaluation_loss_is_the_mean_over_completion_tokens(trained: Path) -> None:
    """By hand: each completion's summed token log-loss after its prompt, over the number of tokens scored."""
    import torch

    model = tlzoo.load(str(trained))
    rows = [json.loads(line) for line in Path(paths()["validation"]).read_text().splitlines()]
    total, count = 0.0, 0
    for row in rows:
        prompt = model.tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
        target = model.tokenizer(row["completion"], add_special_tokens=False)["input_ids"] + [
            model.tokenizer.sep_token_id]
        with torch.no_grad():
            logits = model.model(torch.tensor([prompt + target])).logits[0, len(prompt) - 1:-1]
        total += float(torch.nn.functional.cross_entropy(logits, torch.tensor(target), reduction="sum"))
        count += len(target)
    assert model.evaluate(paths()["validation"])["loss"] == pytest.approx(total / count, rel=1e-4)


def test_predict_with_options_and_stream(trained: Path) -> None:
    plain = cli("predict", str(trained), "--text", PROMPT)
    assert plain.returncode == 0, plain.stderr
    completion = json.loads(plain.stdout)["completion"]
    streamed = cli("predict", str(trained), "--text", PROMPT, "--text", "The opposite of 'up' is", "--stream")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout.splitlines()[0] == completion and len(streamed.stdout.splitlines()) == 2
    sampled = [cli("predict", str(trained), "--text", PROMPT, "--do-sample", "true", "--sample-seed", "7",
                   "--temperature", "1.5", "--max-new-tokens", "12").stdout for _ in range(2)]
    assert sampled[0] == sampled[1] and json.loads(sampled[0])["completion"] != completion
    beams = cli("predict", str(trained), "--text", PROMPT, "--num-beams", "3", "--max-new-tokens", "3")
    assert beams.returncode == 0 and len(json.loads(beams.stdout)["completion"].split()) <= 3
    if completion.split():
        stop = completion.split()[-1]
        cut = cli("predict", str(trained), "--text", PROMPT, "--stop", stop)
        assert stop not in json.loads(cut.stdout)["completion"]


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-gpt after one step at a tiny learning rate: random weights, which write up to the length limit."""
    output = tmp_path_factory.mktemp("generation") / "untrained"
    return Path(tlzoo.train("text-generation", backbone="tiny-gpt", train=paths()["train"], output=str(output),
                            max_steps=1, learning_rate=1e-6, seed=0, quiet=True).output_dir)


def test_batch_generation_stops_at_the_stop_strings_and_equals_the_stream(untrained: Path) -> None:
    model = tlzoo.load(str(untrained))
    prompts = [PROMPT, "The opposite of 'up' is", "Correct the spelling: teh cat\nCorrected:"]
    steps: list[int] = []  # the model's forward calls: one per generated token of the batch's longest row
    model.model.register_forward_pre_hook(lambda module, args: steps.append(1))
    whole = [p["completion"] for p in model.predict(prompts, max_new_tokens=16)]
    assert len(steps) == 16 and all(len(text) > 4 for text in whole)
    stops = sorted({text[len(text) // 2:len(text) // 2 + 2] for text in whole})  # one in each output
    steps.clear()
    cut = [p["completion"] for p in model.predict(prompts, max_new_tokens=16, stop=stops)]
    assert len(steps) < 16  # every row stopped generating at its stop string, not at the limit
    for prompt, text, full in zip(prompts, cut, whole, strict=True):
        assert not any(stop in text for stop in stops)
        assert text == full[:min(full.find(s) for s in stops if s in full)].strip()
        assert text == "".join(model.stream(prompt, max_new_tokens=16, stop=stops))


def test_stream_over_http_as_server_sent_events(trained: Path) -> None:
    from tlzoo.testing.serving import Server

    expected = tlzoo.load(str(trained)).predict(PROMPT)[0]["completion"]
    server = Server([f"gen={trained}", "--log-level", "warning"])
    try:
        status, headers, body = server.request("POST", "/models/gen/stream", json.dumps({"inputs": PROMPT}),
                                               {"Content-Type": "application/json"})
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        events = [block for block in body.decode().split("\n\n") if block]
        pieces = [json.loads(e.removeprefix("data: "))["text"] for e in events if e.startswith("data: ")]
        assert events[-1].startswith("event: done\n")
        assert "".join(pieces) == json.loads(events[-1].split("data: ", 1)[1])["text"] == expected
        status, answer = server.post("/models/gen/stream", {"inputs": [PROMPT, PROMPT]})
        assert status == 422 and "one input" in answer["error"]
        status, answer = server.post("/models/gen/stream", {"inputs": PROMPT, "parameters": {"top_p": 2}})
        assert status == 422
        status, answer = server.post("/models/gen/predict", {"inputs": PROMPT, "parameters": {"stop": ["x"]}})
        assert status == 200 and "completion" in answer
    finally:
        assert server.stop() == 0


def test_chat_messages_over_http_predict_and_stream(trained: Path) -> None:
    from tlzoo.testing.serving import Server

    chat = {"messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": PROMPT}]}
    expected = tlzoo.load(str(trained)).predict([chat, PROMPT])
    server = Server([f"gen={trained}", "--log-level", "warning"])
    try:
        assert json.loads(server.get("/models")[1])[0]["input"]["chat"] is True
        assert "TextGenerationChat" in json.loads(server.get("/openapi.json")[1])["components"]["schemas"]
        status, answer = server.post("/models/gen/predict", {"inputs": chat})
        assert status == 200 and answer == {**expected[0], "truncated": False}
        status, answer = server.post("/models/gen/predict", {"inputs": [chat, PROMPT]})
        assert status == 200 and [a["completion"] for a in answer] == [e["completion"] for e in expected]
        status, _, body = server.request("POST", "/models/gen/stream", json.dumps({"inputs": chat}),
                                         {"Content-Type": "application/json"})
        done = body.decode().split("event: done\ndata: ", 1)[1]
        assert status == 200 and json.loads(done)["text"] == expected[0]["completion"]
        for path in ("/models/gen/predict", "/models/gen/stream"):
            status, answer = server.post(path, {"inputs": {"messages": [{"role": "user"}]}})
            assert status == 422 and answer["error"].startswith("inputs.messages[0].content: Field required")
            status, answer = server.post(path, {"inputs": {"messages": "hello"}})
            assert status == 422 and answer["error"].startswith("inputs.messages: Input should be a valid list")
            status, answer = server.post(path, {"inputs": {"messages": [{"role": "assistant", "content": "hi"}]}})
            assert status == 422 and "messages hold no turn to answer" in answer["error"]
        status, answer = server.post("/models/gen/predict", {"inputs": [PROMPT, {"messages": [{"content": "x"}]}]})
        assert status == 422 and answer["error"].startswith("inputs[1].messages[0].role: Field required")
    finally:
        assert server.stop() == 0


def test_bad_input_writes_nothing(tmp_path: Path, trained: Path) -> None:
    encoder = cli("train", "text-generation", "--backbone", "tiny-bert", "--train", paths()["train"],
                  "--output", str(tmp_path / "enc"), "--max-steps", "1", "--quiet")
    assert encoder.returncode != 0 and "needs a causal (decoder) LM" in encoder.stderr
    assert not (tmp_path / "enc").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": "c", "completion": ""}\n')
    empty = cli("train", "text-generation", "--backbone", "tiny-gpt", "--train", str(bad),
                "--output", str(tmp_path / "bad"), "--max-steps", "1", "--quiet")
    assert empty.returncode != 0 and f"{bad}, line 2: completion is empty" in empty.stderr
    assert not (tmp_path / "bad").exists()
    both = cli("predict", str(trained), "--text", PROMPT, "--stream", "--output", str(tmp_path / "p.jsonl"))
    assert both.returncode != 0 and "drop --output" in both.stderr and not (tmp_path / "p.jsonl").exists()


def test_lora_trains_and_saves_a_plain_causal_lm(tmp_path: Path) -> None:
    result = tlzoo.train("text-generation", backbone="tiny-gpt", train=paths()["train"], output=str(tmp_path / "l"),
                         strategy="lora", max_steps=3, learning_rate=1e-3, quiet=True)
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(result.output_dir).config.model_type == "gpt2"
    assert tlzoo.load(result.output_dir).predict(PROMPT)[0].keys() == {"completion"}
