"""Reading prompt/completion tables and chat conversations into ``source`` / ``messages`` / ``target`` examples.

Two layouts, one per row: ``prompt`` and ``completion`` columns (text, used as they are: the completion follows
the prompt directly, so put any space or line break where it belongs), or ``messages``, a conversation as a list
of ``{"role", "content"}`` turns whose last turn is the assistant's answer (the completion); the turns before it
are the prompt, rendered with the backbone's chat template when the examples are tokenised. ``messages`` may be
a JSON string (a CSV cell). ``completion`` may also be a list of acceptable completions: training uses the first,
evaluation scores against all of them. An optional ``references`` column (a list of texts) gives those acceptable
outputs explicitly, in either layout (e.g. several reference answers to a conversation).
"""

from __future__ import annotations

import json
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource, as_source
from tlzoo.data.tables import read_table

ROLES = ("system", "user", "assistant", "tool")


def read_completions(path: str | DataSource) -> Any:
    """``source`` (the plain prompt, "" for a conversation), ``messages`` (the prompt turns as JSON, "" for a
    plain prompt), ``target`` and ``references``; bad rows raise :class:`TlzooError` naming file and line."""
    from datasets import Dataset

    path = as_source(path)
    table = read_table(path)
    columns = set(table.column_names)
    chat = "messages" in columns
    if not chat and not {"prompt", "completion"} <= columns:
        missing = " and ".join(repr(c) for c in ("prompt", "completion") if c not in columns)
        raise TlzooError(f"{path.path}: missing column {missing}; text-generation reads 'prompt' and 'completion' "
                         f"columns, or 'messages' (a list of {{role, content}} turns ending with the assistant's); "
                         f"the file has: {', '.join(table.column_names)}")
    rows = {name: list(table[name]) for name in ("prompt", "completion", "messages", "references") if name in columns}
    sources, turns, targets, references = [], [], [], []
    for index in range(len(table)):
        where = path.where(index)
        messages = rows["messages"][index] if chat else None
        if messages is not None:
            prompt_turns, answer = split_conversation(messages, where)
            source, refs = "", [answer]
        else:
            prompt, completion = (rows[name][index] if name in rows else None for name in ("prompt", "completion"))
            if not isinstance(prompt, str):
                raise TlzooError(f"{where}: prompt is {str(prompt)[:60]!r}; expected text (or a 'messages' "
                                 f"conversation)")
            refs = completion_texts(completion, where)
            source, prompt_turns = prompt, ""
        sources.append(source)
        turns.append(prompt_turns)
        targets.append(refs[0])
        listed = rows["references"][index] if "references" in rows else None
        references.append(refs if listed is None else completion_texts(listed, where, "references"))
    return Dataset.from_dict({"source": sources, "messages": turns, "target": targets, "references": references})


def completion_texts(value: Any, where: str, column: str = "completion") -> list[str]:
    """A completion (text) or a list of acceptable ones, the empty ones dropped; at least one must remain."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TlzooError(f"{where}: {column} is {str(value)[:60]!r}; expected text or a list of texts")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise TlzooError(f"{where}: {column} is empty; every prompt needs a completion to learn from"
                         if column == "completion" else f"{where}: {column} is empty; give at least one text")
    return texts


def split_conversation(messages: Any, where: str) -> tuple[str, str]:
    """The prompt turns (as JSON) and the final assistant answer of a conversation."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError as exc:
            raise TlzooError(f"{where}: messages is not valid JSON ({exc.msg}); expected a list of "
                             f"{{\"role\", \"content\"}} turns") from None
    if not isinstance(messages, list) or not messages:
        raise TlzooError(f"{where}: messages is {str(messages)[:60]!r}; expected a non-empty list of "
                         f"{{\"role\", \"content\"}} turns")
    turns = []
    for number, turn in enumerate(messages, 1):
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) or \
                not isinstance(turn.get("content"), str):
            raise TlzooError(f"{where}: turn {number} of messages is {str(turn)[:60]!r}; expected "
                             f"{{\"role\": ..., \"content\": \"text\"}}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] != "assistant":
        raise TlzooError(f"{where}: the last turn of messages is the {turns[-1]['role']}'s; a conversation must end "
                         f"with the assistant's turn, which is the completion to learn")
    if len(turns) < 2:
        raise TlzooError(f"{where}: messages hold only the assistant's answer; put at least one turn (the user's) "
                         f"before it")
    answer = turns[-1]["content"]
    if not answer.strip():
        raise TlzooError(f"{where}: the final assistant turn is empty; every conversation needs a completion")
    return json.dumps(turns[:-1], ensure_ascii=False), answer
