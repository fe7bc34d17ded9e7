"""A test plugin: a Parquet reader and an error-rate metric, registered like any plugin's components."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1,<2"

_HERE = "tlzoo_fixture_metric_reader.components"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec("parquet", "dataset", f"{_HERE}:ParquetReader", "Apache Parquet tables (pyarrow)",
                      {"extensions": [".parquet"], "produces": "table"}))
    registry.add(Spec("error-rate", "metric", f"{_HERE}:ErrorRate", "share of wrong labels (1 - accuracy)",
                      {"primary": "error_rate", "consumes": "label"}))
