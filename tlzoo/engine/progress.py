"""Progress bars (one per phase, quiet off a TTY) and the JSONL log of every logged step."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


class Progress:
    """A tqdm bar showing loss, learning rate, samples/s and ETA, or nothing when quiet."""

    def __init__(self, total: int, desc: str, quiet: bool, initial: int = 0) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar = None
        if self.enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, initial=initial, dynamic_ncols=True, leave=True)

    def update(self, steps: int = 1, **postfix: Any) -> None:
        if self.bar is not None:
            self.bar.update(steps)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class JsonlLog:
    """Appends one JSON object per logged step to ``log.jsonl`` (kept across resumes)."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self.records: list[dict[str, Any]] = []
        if path.is_file():
            self.records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (a resumed run replays them)."""
        self.records = [r for r in self.records if r.get("step", 0) <= step]
        if self.enabled:
            self.path.write_text("".join(json.dumps(r) + "\n" for r in self.records))

    def write(self, **record: Any) -> dict[str, Any]:
        record = {"time": round(time.time(), 3), **record}
        self.records.append(record)
        if self.enabled:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        return record


def quiet_libraries(quiet: bool) -> None:
    """Silence datasets/transformers progress bars off a TTY or with --quiet, and their info chatter."""
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    if quiet or not sys.stderr.isatty():
        datasets.disable_progress_bars()
        transformers.logging.disable_progress_bar()
