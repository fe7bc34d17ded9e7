"""tlzoo plugin: machine translation. Specs only; the task lives in :mod:`tlzoo_translation.task`."""

from __future__ import annotations

from tlzoo import Spec, hookimpl
from tlzoo.seq2seq import GENERATION_PARAMETERS

TLZOO_API = ">=1.0,<2"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "translation", "task", "tlzoo_translation.task:TranslationTask",
        "translate text from --source-lang to --target-lang (aligned text files, HF translation JSONL, "
        "or two-column CSV/TSV); sacreBLEU BLEU and chrF",
        {"metrics": ["sacrebleu"], "primary": "bleu", "default_backbone": "smollm2-135m",
         "test_backbone": "tiny-bart",
         "model_class": "AutoModelForSeq2SeqLM (encoder-decoder, a+b pair) or AutoModelForCausalLM (decoder)",
         "sample": "tlzoo_translation.sample:paths",
         "example_inputs": ["A man is walking in the park.", "Two children are playing at the beach."],
         "input": {"text": "str"},
         "output": {"translation": "str"}, "parameters": GENERATION_PARAMETERS}))
    registry.add(Spec(
        "parallel-text", "dataset", "tlzoo_translation.data:ParallelTextReader",
        "aligned text files NAME.SRC and NAME.TGT side by side, one sentence per line (optionally compressed); "
        "chosen for a file whose extension is --source-lang or --target-lang",
        {"extensions": [], "produces": "parallel"}))
    registry.add(Spec(
        "sacrebleu", "metric", "tlzoo_translation.metrics:TranslationScores",
        "corpus BLEU (tokenisation by target language) and chrF through sacreBLEU, with signatures, plus "
        "output length and diversity",
        {"primary": "bleu", "consumes": "text"}))
