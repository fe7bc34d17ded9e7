"""``tlzoo serve`` end to end: real servers in subprocesses on loopback, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="tlzoo[serve] is not installed (make install adds it)")


@pytest.fixture
def server(served):
    return served


def test_every_task_answers_with_typed_predictions(server) -> None:
    assert server.get("/health") == (200, b'{"status":"ok"}')
    status, single = server.post("/models/classification/predict", {"inputs": "a gripping film"})
    assert status == 200 and set(single) == {"label", "score", "scores", "truncated"}
    assert single["label"] in single["scores"] and single["truncated"] is False
    status, several = server.post("/models/classification/predict",
                                  {"inputs": ["good", ["a", "pair"], {"text": "a", "text_pair": "b"}]})
    assert status == 200 and len(several) == 3
    status, ner = server.post("/models/ner/predict", {"inputs": "John Smith flew from London to Paris."})
    assert status == 200 and ner["text"] == "John Smith flew from London to Paris."
    assert all(ner["text"][e["start"]:e["end"]] == e["text"] for e in ner["entities"])
    context = "The Eiffel Tower is in Paris, France."
    status, answer = server.post("/models/qa/predict", {"inputs": {"question": "Where is it?", "context": context}})
    assert status == 200 and context[answer["start"]:answer["end"]] == answer["text"]
    status, translated = server.post("/models/translation/predict",
                                     {"inputs": ["A man walks."], "parameters": {"max_new_tokens": 3, "num_beams": 2}})
    assert status == 200 and isinstance(translated[0]["translation"], str)
    assert len(translated[0]["translation"].split()) <= 3
    schemas = json.loads(server.get("/openapi.json")[1])["components"]["schemas"]
    kinds = {"string": str, "number": float, "boolean": bool, "object": dict, "array": list}
    for name, prediction in (("Classification", single), ("Ner", ner), ("ExtractiveQa", answer),
                             ("Translation", translated[0])):
        declared = schemas[f"{name}Prediction"]
        assert set(declared["required"]) <= set(prediction), (name, prediction)
        for field, spec in declared["properties"].items():
            kind = kinds.get(spec.get("type"))
            assert kind is None or isinstance(prediction[field], kind), (name, field, prediction[field])


def test_models_lists_the_card_facts_and_openapi_is_typed(server) -> None:
    status, body = server.get("/models")
    cards = {card["name"]: card for card in json.loads(body)}
    assert status == 200 and list(cards) == ["classification", "ner", "qa", "translation"]
    assert cards["classification"]["task"] == "classification" and cards["qa"]["backbone"] == "tiny-bert"
    assert cards["classification"]["labels"] == ["negative", "positive"]
    assert "accuracy" in cards["classification"]["metrics"]["validation"]
    assert cards["qa"]["input"]["fields"] == ["question", "context"] and cards["qa"]["auth"] is False
    assert set(cards["translation"]["parameters"]) == {"max_new_tokens", "num_beams"}
    assert cards["ner"]["versions"]["tlzoo"]
    schemas = json.loads(server.get("/openapi.json")[1])["components"]["schemas"]
    assert schemas["NerPrediction"]["properties"]["entities"]["items"]["$ref"].endswith("NerPredictionEntities")
    assert set(schemas["ExtractiveQaInput"]["required"]) == {"question", "context"}
    assert schemas["TranslationParameters"]["properties"]["num_beams"]["anyOf"][0]["maximum"] == 8


def test_the_openapi_page_works_offline(server) -> None:
    """/docs is Swagger UI on the server's own copy of its assets: no CDN, so it renders without a network."""
    status, body = server.get("/docs")
    page = body.decode()
    assert status == 200 and "swagger-ui" in page and "cdn." not in page and "https://" not in page
    for asset in re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', page):
        asset_status, asset_body = server.get(asset)
        assert asset_status == 200 and len(asset_body) > 1000, asset
    assert len(re.findall(r'(?:src|href)="/docs-assets/', page)) == 2


def test_metrics_are_prometheus_text(server) -> None:
    server.post("/models/classification/predict", {"inputs": "fine"})
    status, headers, body = server.request("GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert re.search(r'tlzoo_requests_total\{model="classification",status="200"\} [1-9]', text)
    assert 'tlzoo_request_seconds_bucket{le="0.005",model="classification"}' in text
    assert 'tlzoo_batch_size_count{model="classification"}' in text
    assert 'tlzoo_queue_depth{model="ner"} 0.0' in text


def test_every_bad_request_gets_a_clear_error_and_the_server_keeps_serving(serve_models, serve) -> None:
    running = serve(serve_models["classification"], f"qa={serve_models['extractive-qa']}", "--max-batch", "4",
                    "--max-body-mb", "0.01", env={"TLZOO_API_KEY": "s3cret"})
    key = {"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
    qa = "/models/qa/predict"
    cases = [
        (running.request("POST", qa, '{"inputs": ', key), 422, "not valid JSON"),
        (running.request("POST", qa, json.dumps({"inputs": [{"question": "q", "context": "c"}, {"question": "q"}]}),
                         key),
         422, "inputs[1].context: Field required; each input is {\"question\": str, \"context\": str}"),
        (running.request("POST", qa, json.dumps({"inputs": {"question": "q", "context": "c"},
                                                 "parameters": {"top_k": 2}}), key),
         422, "parameters.top_k: unknown field; this model's parameters: none"),
        (running.request("POST", "/models/nope/predict", '{"inputs": "x"}', key), 404,
         "no model named 'nope'; served: classification, qa"),
        (running.request("POST", "/predict", '{"inputs": "x"}', key), 404, "POST /models/NAME/predict"),
        (running.request("POST", "/models/classification/predict", json.dumps({"inputs": "x" * 20000}), key), 413,
         "over the limit of 0.01 MB"),
        (running.request("POST", "/models/classification/predict", json.dumps({"inputs": ["x"] * 5}), key), 413,
         "5 inputs in one request; at most 4 (--max-batch)"),
        (running.request("POST", qa, json.dumps({"inputs": {"question": "q", "context": "c"}})), 401,
         "missing or wrong API key"),
        (running.request("POST", qa, json.dumps({"inputs": {"question": "q", "context": "c"}}),
                         {"Authorization": "Bearer wrong"}), 401, "missing or wrong API key"),
    ]
    for (status, _, body), expected_status, expected in cases:
        error = json.loads(body)
        assert status == expected_status and expected in error["error"], (status, error)
        assert "Traceback" not in body.decode()
    status, long = running.post("/models/classification/predict", {"inputs": ["word " * 1000, "short"]}, key)
    assert status == 200 and [p["truncated"] for p in long] == [True, False]
    assert running.post("/models/classification/predict", {"inputs": "still serving"}, key)[0] == 200
    assert running.get("/health")[0] == 200 and json.loads(running.get("/models")[1])[0]["auth"] is True


def test_a_full_queue_answers_429_with_retry_after_and_cors_is_on_only_when_asked(serve_models, serve,
                                                                                   server) -> None:
    running = serve(serve_models["classification"], "--max-queue", "1", "--max-wait-ms", "300",
                    "--cors-origin", "http://example.org")
    origin = {"Origin": "http://example.org"}
    assert running.request("GET", "/models", headers=origin)[1]["access-control-allow-origin"] == "http://example.org"
    assert "access-control-allow-origin" not in server.request("GET", "/models", headers=origin)[1]

    def one(_: int) -> tuple[int, dict[str, str]]:
        status, headers, _ = running.request("POST", "/predict", '{"inputs": "x"}')
        return status, headers

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    statuses = sorted(status for status, _ in results)
    assert 200 in statuses and 429 in statuses and set(statuses) <= {200, 429}, statuses
    assert all(headers.get("retry-after") == "1" for status, headers in results if status == 429)


def test_sigterm_under_load_answers_every_accepted_request_and_exits_0(serve_models, serve) -> None:
    running = serve(serve_models["classification"], "--max-wait-ms", "40", "--log-level", "info")
    answered: list[int] = []
    refused = threading.Event()
    stop_at: list[float] = []
    done_after_signal: list[float] = []

    def client() -> None:
        while not refused.is_set():
            status, _, _ = running.request("POST", "/predict", '{"inputs": "a fine film"}')
            if status == 0:
                refused.set()
                return
            answered.append(status)
            if stop_at and time.monotonic() > stop_at[0]:
                done_after_signal.append(time.monotonic())

    threads = [threading.Thread(target=client) for _ in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stop_at.append(time.monotonic())
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(30) == 0, running.log()[-2000:]
    for thread in threads:
        thread.join(30)
    served = int(re.search(r"stopped after answering (\d+) prediction requests", running.log()).group(1))
    assert set(answered) == {200}, answered
    assert len(answered) == served, (len(answered), served)
    assert done_after_signal, "no request was in flight when SIGTERM came; the test proves nothing"


def test_the_app_factory_runs_under_gunicorn_with_two_workers(serve_models) -> None:
    pytest.importorskip("gunicorn", reason="gunicorn is not installed (make install adds it)")
    from tlzoo.testing.serving import Server, free_port

    port = free_port()
    folder = serve_models["classification"]
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "uvicorn_worker.UvicornWorker", "-b",
               f"127.0.0.1:{port}", f"tlzoo.serve:create_app([{folder!r}])"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    probe = Server.__new__(Server)
    probe.port = port
    try:
        deadline = time.monotonic() + 90
        while probe.get("/ready")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not become ready"
            time.sleep(0.3)

        def predict(_: int) -> int:  # as a client should: the other worker may still be loading (503 + Retry-After)
            for _ in range(300):
                status = probe.post("/predict", {"inputs": "good"})[0]
                if status != 503:
                    return status
                time.sleep(0.2)
            return status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(predict, range(40)))
        assert statuses == [200] * 40
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", output))) == 2, output[-2000:]
    assert process.returncode == 0, output[-2000:]


def test_listing_and_help_import_no_serving_dependency_and_a_missing_extra_says_what_to_install() -> None:
    for args in (["--help"], ["list"], ["serve", "--help"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlzoo", *args], capture_output=True,
                                text=True, timeout=120)
        imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        assert result.returncode == 0 and imported, result.stderr[-1000:]
        assert not imported & {"fastapi", "uvicorn", "prometheus_client", "starlette", "torch"}, args
    blocked = ("import sys; sys.modules['fastapi'] = None; sys.argv = ['tlzoo', 'serve', 'somewhere']; "
               "from tlzoo.cli.main import main; main()")
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: serving needs fastapi: install tlzoo[serve] (pip install 'tlzoo[serve]')"


def test_a_bad_folder_is_one_line_before_anything_binds(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "tlzoo", "serve", str(tmp_path / "missing")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "missing" in result.stderr
    result = subprocess.run([sys.executable, "-m", "tlzoo", "serve", f"a b={tmp_path}"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "model name 'a b'" in result.stderr


def test_tokenizing_in_memory_inputs_does_not_pickle_the_tokenizer(monkeypatch, serve_models) -> None:
    """Serving latency: datasets' fingerprint pickles the whole tokenizer (0.1-1 s) on every predict call,
    for a cache that in-memory inputs never have."""
    from functools import partial

    from datasets.fingerprint import Hasher

    import tlzoo

    predictor = tlzoo.load(serve_models["classification"])
    hash_value = Hasher.hash
    pickled: list[object] = []

    def spy(cls, value):  # datasets swallows errors raised here, so record instead
        if isinstance(value, partial):
            pickled.append(value)
        return hash_value(value)

    monkeypatch.setattr(Hasher, "hash", classmethod(spy))
    assert predictor.predict(["fine", "bad"])[1]["label"] in ("negative", "positive")
    assert not pickled, "the preprocessing function (and its tokenizer) was pickled"


def test_input_fields_are_typed_as_the_task_declares_them() -> None:
    from pydantic import ValidationError

    from tlzoo.api import Spec
    from tlzoo.serve.schemas import task_schema

    spans = {"text": "str", "head": "list[int] | str | null", "tail": "list[int] | str | null"}
    request = task_schema(Spec("spans", "task", "x:Y", "d", {"input": spans})).request
    parsed = request(inputs=[{"text": "Ann met Bob", "head": [0, 3], "tail": "8:11"}, "marked text"])
    assert parsed.inputs[0].head == [0, 3] and parsed.inputs[0].tail == "8:11" and parsed.inputs[1] == "marked text"
    with pytest.raises(ValidationError):
        request(inputs={"text": "Ann", "head": {"start": 0}})
    plain = task_schema(Spec("plain", "task", "x:Y", "d", {})).request
    with pytest.raises(ValidationError):
        plain(inputs={"text": 3})
