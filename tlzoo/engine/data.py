"""Data mechanics shared by every task: reading splits, tokenising once (cached), batching by length."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import torch

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource
from tlzoo.hub import is_hub_dataset

logger = logging.getLogger("tlzoo")


def file_sha256(path: str) -> str:
    """The file's SHA-256 (for a hub dataset, its name: the hub versions it)."""
    if is_hub_dataset(path):
        return path
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_split(task: Any, path: str, split: str, limit: int = 0, streaming: bool = False,
               format: str | None = None) -> Any:
    """The task reads and validates ``path`` (as a :class:`DataSource` in ``format``, default: by extension);
    an empty result is an error naming the file."""
    path = DataSource(path, format)
    path.check(split, f"{task.name} examples")
    if streaming:
        stream = task.stream_split(path, split)
        if next(iter(stream), None) is None:
            raise TlzooError(f"{split} file {path} holds no examples; expected {task.name} examples")
        return stream.take(limit) if limit else stream
    dataset = task.load_split(path, split)
    if len(dataset) == 0:
        raise TlzooError(f"{split} file {path} holds no examples; expected {task.name} examples")
    if limit and len(dataset) > limit:
        dataset = dataset.select(range(limit))
    return dataset


def tokenize(task: Any, dataset: Any, tokenizer: Any, state: dict, max_length: int, training: bool,
             desc: str) -> Any:
    """Run the task's preprocessing as a batched, fingerprint-cached ``datasets.map``."""
    function = partial(task.preprocess, tokenizer=tokenizer, state=state, max_length=max_length, training=training)
    if isinstance(dataset, Columns):  # prediction inputs held in memory: one call, no Arrow round trip
        return Columns(dict(function(dataset[:])))
    if not hasattr(dataset, "__len__"):  # a stream: tokenised lazily as batches are drawn
        mapped = dataset.map(function, batched=True, remove_columns=dataset.column_names)
        return mapped._resolve_features()  # column names (from the first rows) for the model's inputs
    features = dataset.map(function, batched=True, remove_columns=dataset.column_names, desc=desc,
                           load_from_cache_file=True)
    warn_truncated(features, desc.replace("tokenising ", ""), max_length)
    return features


def warn_truncated(features: Any, what: str, max_length: int) -> None:
    if "truncated" in features.column_names:
        cut = sum(features["truncated"])
        if cut:
            logger.warning("%s: %d of %d examples were longer than max_length=%d tokens and were truncated",
                           what, cut, len(features), max_length)


class Columns:
    """Prediction inputs or features as plain lists: what preprocessing, inference and post-processing read
    of a ``datasets.Dataset`` (``column_names``, ``len``, a column by name, a slice, rows by index list,
    ``select_columns``), without the Arrow round trips that cost a served request milliseconds each
    (building a one-row ``Dataset`` alone takes about 1 ms). A task's ``inputs_to_examples`` may
    return one instead of a ``Dataset``."""

    def __init__(self, columns: dict[str, list]) -> None:
        self.columns = columns

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def __getitem__(self, key: str | int | slice | Sequence[int]) -> Any:
        if isinstance(key, str):
            return self.columns[key]
        if isinstance(key, slice):
            return {name: values[key] for name, values in self.columns.items()}
        if isinstance(key, int):
            return {name: values[key] for name, values in self.columns.items()}
        return {name: [values[i] for i in key] for name, values in self.columns.items()}

    def select_columns(self, names: Sequence[str]) -> Columns:
        return Columns({name: self.columns[name] for name in names})


def feature_lengths(features: Any, column: str) -> list[int]:
    return [len(x) for x in features[column]]


class LengthGroupedBatches:
    """Shuffled batches of similar length (less padding), the same for a given seed and epoch.

    Like transformers' length-grouped sampler: shuffle, cut into mega-batches of 50 batches, sort
    each by length, then shuffle the order of the resulting batches; and, as there, the batch holding
    the longest example goes first. A run that runs out of memory then does so at its first step, and
    the allocator's heap reaches its high-water mark on that step's tensors, which later, shorter
    batches reuse: grown by shorter batches first, it fragments and peaks higher (XQuAD QA, batches of
    16 windows of 87-384 tokens: peak RSS 4170-4206 MB longest-first, 4309-4378 MB before; the
    efficiency benchmark).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, group: bool = True,
                 shuffle: bool = True) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.lengths)
        order = torch.randperm(n, generator=generator).tolist() if self.shuffle else list(range(n))
        if self.group:
            mega = self.batch_size * 50
            order = [i for start in range(0, n, mega)
                     for i in sorted(order[start:start + mega], key=lambda j: -self.lengths[j])]
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle and self.group:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        if self.group and batches:
            longest = max(range(len(batches)), key=lambda b: max(self.lengths[i] for i in batches[b]))
            batches[0], batches[longest] = batches[longest], batches[0]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())


def model_columns(model: Any, features: Any, extra: Sequence[str] = ()) -> list[str]:
    """Feature columns the model's forward accepts, and ``extra`` (the task's ``feature_columns``); others,
    like offsets, stay out of batches."""
    import inspect

    forward = getattr(model, "get_base_model", lambda: model)().forward
    accepted = set(inspect.signature(forward).parameters) | {"labels", *extra}
    return [c for c in features.column_names if c in accepted]


def inference_batches(lengths: Sequence[int], batch_size: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """Longest-first batches of this process's share of the rows (sorting cuts padding)."""
    mine = sorted(range(rank, len(lengths), world), key=lambda i: -lengths[i])
    return [mine[i:i + batch_size] for i in range(0, len(mine), batch_size)]
