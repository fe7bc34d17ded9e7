"""A transformers encoder to an optimised ONNX graph, and its dynamic int8 quantisation (file to file).

The TorchScript-based ``torch.onnx.export`` is used (``dynamo=False``): with torch 2.13 both exporters
produce a correct graph, but onnxruntime's transformer optimizer only recognises attention in the
TorchScript graph of the *eager* attention implementation (fused Attention, EmbedLayerNormalization,
SkipLayerNormalization, BiasGelu), and it exports in a quarter of the time without needing onnxscript.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

OPSET = 17
"""LayerNormalization is a single op from opset 17; onnxruntime >= 1.16 runs it."""


def export_graph(model: Any, batch: Mapping[str, Any], path: Path) -> list[str]:
    """Trace ``model(**batch)`` into ``path`` with dynamic batch and sequence axes; returns the output names.

    ``batch`` must contain padding (rows of different lengths): tracing bakes in the branch taken for the
    attention mask, and a mask of all ones may be dropped by transformers' fast path.
    """
    import torch

    names = list(batch)
    with torch.inference_mode():
        reference = model(**batch)
    outputs = [k for k, v in reference.items() if isinstance(v, torch.Tensor) and k != "loss"]
    sequence = batch[names[0]].shape[1]

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> tuple[Any, ...]:
            result = self.model(**dict(zip(names, args)))
            return tuple(result[k] for k in outputs)

    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    for key in outputs:
        shape = reference[key].shape
        axes[key] = {0: "batch", **({1: "sequence"} if len(shape) > 1 and shape[1] == sequence else {})}
    _eager_attention(model)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Graph().eval(), tuple(batch[n] for n in names), str(path), input_names=names,
                          output_names=outputs, dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return outputs


def _eager_attention(model: Any) -> None:
    """Plain matmul-softmax attention, the pattern onnxruntime fuses (SDPA traces into an opaque graph)."""
    setter = getattr(model, "set_attn_implementation", None)
    if setter is not None:
        try:
            setter("eager")
        except (ValueError, NotImplementedError):
            pass


def optimize_graph(source: Path, target: Path, config: Any) -> dict[str, int]:
    """onnxruntime's transformer fusions (BERT family); returns the fused operators and their counts.

    A graph the optimizer cannot fuse is saved unchanged (the parity check runs on the result either way).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    heads = _first(config, ("num_attention_heads", "n_heads", "num_heads"))
    hidden = _first(config, ("hidden_size", "dim", "d_model"))
    with _quiet():
        optimized = optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden)
        optimized.save_model_to_file(str(target))
    return {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}


def quantize_graph(source: Path, target: Path, reduce_range: bool) -> None:
    """Dynamic int8: weights quantised per output channel, activations at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(str(source), str(target), per_channel=True, reduce_range=reduce_range,
                         weight_type=QuantType.QInt8,
                         # fused contrib ops (Attention...) have no shape inference; their outputs are float
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _first(config: Any, names: tuple[str, ...]) -> int:
    return next((int(getattr(config, n)) for n in names if isinstance(getattr(config, n, None), int)), 0)


@contextmanager
def _quiet() -> Any:
    """onnxruntime's optimizer and quantiser log advice (to the root logger too) that a user cannot act on."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
