"""Inference backends behind one interface: a task's ``forward`` calls ``model(**batch)`` and reads named
outputs (``.logits``, ``.start_logits``...), whichever runtime computes them.

The PyTorch backend is the transformers model itself. :class:`OnnxModel` is the onnxruntime backend: it
takes the same batch (torch tensors from the task's collator), runs an exported graph and returns its
outputs as torch tensors under the graph's output names, so pre- and post-processing are unchanged.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError

EXPORT_EXTRA = "tlzoo[export]"


def require_export_extra(what: str) -> None:
    """Fail early, in one line, when the optional ONNX dependencies are missing.

    Looked up, not imported: importing ``onnx`` costs a second or more, and running an export needs only
    onnxruntime.
    """
    from importlib.util import find_spec

    missing = [module for module in ("onnx", "onnxruntime") if find_spec(module) is None]
    if missing:
        raise TlzooError(f"{what} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                         f"not installed; install {EXPORT_EXTRA} (pip install '{EXPORT_EXTRA}')")


def cpu_threads() -> int:
    """The cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ModelOutputs(dict):
    """Named outputs, readable as attributes (``out.logits``) like transformers' ``ModelOutput``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class OnnxModel:
    """An onnxruntime session that a task's ``forward`` can call in place of the transformers model."""

    backend = "onnxruntime"
    training = False

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        require_export_extra("an exported model")
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or cpu_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types (bad protobuf, missing file)
            raise RuntimeError(str(exc)) from exc
        self.path = Path(path)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

        def forward(**inputs: Any) -> ModelOutputs:
            return self(**inputs)

        # The engine picks batch columns from ``forward``'s signature (as for a transformers model).
        forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in self.input_names])
        self.forward = forward

    def __call__(self, **inputs: Any) -> ModelOutputs:
        import numpy as np
        import torch

        device = next((v.device for v in inputs.values() if isinstance(v, torch.Tensor)), None)
        feed = {name: np.asarray(_to_numpy(inputs[name]), dtype=np.int64) for name in self.input_names}
        results = self.session.run(self.output_names, feed)
        return ModelOutputs({name: torch.from_numpy(value).to(device) if device else torch.from_numpy(value)
                             for name, value in zip(self.output_names, results)})

    def eval(self) -> OnnxModel:
        return self

    def train(self, mode: bool = True) -> OnnxModel:
        return self

    def to(self, device: Any) -> OnnxModel:
        """A no-op: the session runs on the CPU; outputs go back to the device the inputs came from."""
        return self


def _to_numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value
