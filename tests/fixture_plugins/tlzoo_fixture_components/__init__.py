"""A test plugin: a Parquet reader, an error-rate metric and a max-pool head, registered like any plugin's
components. Only specs here: the classes live in modules imported when a run uses them."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1,<2"

_HERE = "tlzoo_fixture_components.components"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec("parquet", "dataset", f"{_HERE}:ParquetReader", "Apache Parquet tables (pyarrow)",
                      {"extensions": [".parquet"], "produces": "table"}))
    registry.add(Spec("error-rate", "metric", f"{_HERE}:ErrorRate", "share of wrong labels (1 - accuracy)",
                      {"primary": "error_rate", "consumes": "label"}))
    registry.add(Spec("max-pool", "head", "tlzoo_fixture_components.head:MaxPoolHead",
                      "max over token states, then linear", {"fits": ["sequence"]}))
