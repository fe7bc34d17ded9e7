"""Hub names are supported but fail fast and clearly when the hub cannot be reached."""

from __future__ import annotations

import time

import pytest

from tlzoo.api import TlzooError


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_unknown_backbone_id_fails_fast_with_a_local_path_hint() -> None:
    from tlzoo.backbones.resolve import resolve_backbone

    started = time.perf_counter()
    with pytest.raises(TlzooError, match=r"cannot be reached.*--backbone /path/to/model"):
        resolve_backbone("bert-base-uncased")
    assert time.perf_counter() - started < 5


def test_missing_local_backbone_folder_is_named() -> None:
    from tlzoo.backbones.resolve import resolve_backbone

    with pytest.raises(TlzooError, match="does not exist"):
        resolve_backbone("./no/such/model")


def test_minilm_resolves_to_the_pip_package_offline() -> None:
    from tlzoo.backbones.resolve import resolve_backbone

    backbone = resolve_backbone("minilm-l6")
    assert backbone.source.endswith("model") and backbone.kind == "encoder"


def test_hub_dataset_names_parse_and_fail_fast_offline() -> None:
    from tlzoo.data.tables import read_table
    from tlzoo.hub import parse_hub_dataset

    assert parse_hub_dataset("hub:glue:sst2@train") == ("glue", "sst2", "train")
    assert parse_hub_dataset("hub:org/name@test") == ("org/name", None, "test")
    with pytest.raises(TlzooError, match="hub:NAME"):
        parse_hub_dataset("hub:glue")
    with pytest.raises(TlzooError, match="cannot be reached.*local file"):
        read_table("hub:glue:sst2@train")
