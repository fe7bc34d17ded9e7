"""``tlzoo export``: a trained model to ONNX for CPU deployment (the ``tlzoo[export]`` extra)."""

from __future__ import annotations

from typing import Any

import click


@click.command("export", short_help="Export a trained model to ONNX or PyTorch int8 for CPU serving.")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder to write the export to.")
@click.option("--format", "format_", type=click.Choice(["onnx", "pytorch"]),
              help="onnx (default for encoder tasks): one graph on onnxruntime; pytorch (default for generation "
                   "tasks): the safetensors weights, Linear layers quantised to int8 when loaded.")
@click.option("--quantize", type=click.Choice(["int8", "none"]), default="int8", show_default=True,
              help="int8: dynamic quantisation of the weights (ONNX: per channel); none: fp32 (ONNX only).")
@click.option("--data", type=click.Path(dir_okay=False),
              help="A labelled file: report the task metric of the source model and of each export side by side.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
def export_command(model_dir: str, output: str, format_: str | None, quantize: str, data: str | None,
                   overwrite: bool) -> None:
    """Export a trained model for CPU serving, checked against the source model.

    Encoder tasks go to ONNX (fp32 within 1e-4 of PyTorch), run on onnxruntime; generation tasks keep
    their PyTorch weights, with every Linear layer quantised to int8 when loaded. The folder holds the
    model, tokenizer, tlzoo.json, a model card and export_report.json; `tlzoo predict`, `evaluate` and
    `serve` use it unchanged.
    """
    import tlzoo

    result = tlzoo.export(model_dir, output, format=format_, quantize=quantize, data=data, overwrite=overwrite)
    report = result.report
    if "agreement" in report:  # --format pytorch
        agreement = report["agreement"]
        click.echo(f"exported to {result.output_dir} ({result.file}, Linear layers quantised to int8 at load; "
                   f"{agreement['identical_predictions']} of {agreement['sample_inputs']} sample predictions "
                   f"identical to the source model's)")
    else:
        _echo_onnx(result)
    metrics = report.get("metrics")
    if metrics:
        for name in [k for k in metrics if k != "data"]:
            shown = {k: round(v, 4) for k, v in metrics[name].items() if isinstance(v, float)}
            click.echo(f"{name}: {shown}")


def _echo_onnx(result: Any) -> None:
    report = result.report
    diffs = ", ".join(f"{k} {v:.1e}" for k, v in report["parity"]["max_abs_diff"].items())
    sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in report["size_bytes"].items())
    click.echo(f"exported to {result.output_dir}/{result.file} (size: {sizes}; max abs difference from "
               f"PyTorch: {diffs})")


COMMANDS = [export_command]
