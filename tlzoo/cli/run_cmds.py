"""``tlzoo train``, ``tlzoo evaluate`` and ``tlzoo predict``."""

from __future__ import annotations

COMMANDS: list = []
