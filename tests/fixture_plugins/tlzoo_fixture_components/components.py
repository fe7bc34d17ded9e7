"""The fixture plugin's components; ``datasets`` is imported only when a file is read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tlzoo.api import TlzooError


class ParquetReader:
    """A table reader: every task that reads tables reads ``.parquet`` files once this is installed."""

    name: ClassVar[str] = "parquet"
    extensions: ClassVar[tuple[str, ...]] = (".parquet",)
    produces: ClassVar[str] = "table"

    def read(self, source: Any, streaming: bool = False) -> Any:
        from datasets import load_dataset

        if source.compression:
            raise TlzooError(f"{source}: Parquet compresses its own columns; pass the .parquet file itself")
        try:
            return load_dataset("parquet", data_files=source.path, split="train", streaming=streaming)
        except Exception as exc:
            raise TlzooError(f"{source}: could not be read as parquet ({str(exc).splitlines()[0][:200]})") from exc

    def location(self, source: Any, row: int) -> str:
        return f"{source}, row {row + 1}"


class ErrorRate:
    """The share of examples whose label is wrong."""

    name, primary, greater_is_better, consumes = "error-rate", "error_rate", False, "label"

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]:
        labels = [p["label"] if isinstance(p, Mapping) else p for p in predictions]
        wrong = sum(p != r for p, r in zip(labels, references, strict=True))
        return {"error_rate": wrong / max(len(references), 1)}
