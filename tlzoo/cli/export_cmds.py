"""``tlzoo export``: a trained model to ONNX for CPU deployment (the ``tlzoo[export]`` extra)."""

from __future__ import annotations

import click


@click.command("export", short_help="Export a trained model to ONNX (int8 by default) for CPU serving.")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder to write the export to.")
@click.option("--format", "format_", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Export format.")
@click.option("--quantize", type=click.Choice(["int8", "none"]), default="int8", show_default=True,
              help="int8: dynamic quantisation of the weights (per channel); none: fp32.")
@click.option("--data", type=click.Path(dir_okay=False),
              help="A labelled file: report the task metric of the source model and of each export side by side.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
def export_command(model_dir: str, output: str, format_: str, quantize: str, data: str | None,
                   overwrite: bool) -> None:
    """Export a trained encoder-task model to ONNX, checked against the source model (fp32 within 1e-4).

    The folder holds the ONNX graph, tokenizer, tlzoo.json, a model card and export_report.json;
    `tlzoo predict` and `tlzoo evaluate` run it on onnxruntime with the same output.
    """
    import tlzoo

    result = tlzoo.export(model_dir, output, format=format_, quantize=quantize, data=data, overwrite=overwrite)
    report = result.report
    diffs = ", ".join(f"{k} {v:.1e}" for k, v in report["parity"]["max_abs_diff"].items())
    sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in report["size_bytes"].items())
    click.echo(f"exported to {result.output_dir}/{result.file} (size: {sizes}; max abs difference from "
               f"PyTorch: {diffs})")
    metrics = report.get("metrics")
    if metrics:
        for name in [k for k in metrics if k != "data"]:
            shown = {k: round(v, 4) for k, v in metrics[name].items() if isinstance(v, float)}
            click.echo(f"{name}: {shown}")


COMMANDS = [export_command]
