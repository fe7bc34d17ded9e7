"""Request and response models of one served task, derived from its spec metadata.

A task declares ``"input"`` (its input fields, as ``tlzoo predict --input`` reads them), ``"output"``
(the fields of one prediction) and optionally ``"parameters"`` (prediction options, e.g. generation
settings). Types are written as short strings: ``str``, ``int``, ``float``, ``bool``, ``list[str]``,
``dict[str, float]``, unions with ``|`` and ``null`` for optional; a dict is a nested object and a
one-item list a list of them. A parameter may also be ``{"type": "int", "ge": 1, "le": 8,
"description": ...}``. Undeclared outputs are free-form objects, so a plugin's task is served either way.
A task whose metadata sets ``"chat": true`` also takes a conversation as an input, ``{"messages": [{"role": str,
"content": str}, ...]}`` (as ``Predictor.predict`` does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model

from tlzoo.api import Spec
from tlzoo.data.inputs import InputFields

_SCALARS: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool, "any": Any}
CHAT = {"messages": [{"role": "str", "content": "str"}]}
"""The chat form of an input, for tasks whose metadata sets ``"chat"``."""


@dataclass(frozen=True)
class TaskSchema:
    """The pydantic models of one task's endpoint, and the names a validation error may mention."""

    request: type[BaseModel]
    prediction: type[BaseModel]
    fields: InputFields
    parameters: Mapping[str, Any]
    output: Mapping[str, Any]
    chat: bool = False

    def names(self) -> set[str]:
        """Field names that may appear in an error location (everything else there is a pydantic union tag)."""
        return {"inputs", "parameters", *self.fields.names, *self.parameters,
                *(("messages", "role", "content") if self.chat else ())}

    def describe_input(self) -> str:
        shapes = []
        if self.fields.is_text:
            shapes.append("a string")
        shapes.append("{" + ", ".join(f'"{n}": str' + ("" if n in self.fields.required else " (optional)")
                                      for n in self.fields.names) + "}")
        if "text_pair" in self.fields.names:
            shapes.append("[text, text_pair]")
        if self.chat:
            shapes.append('{"messages": [{"role": str, "content": str}, ...]}')
        return " or ".join(shapes)


def python_type(declared: Any, name: str) -> Any:
    """The Python type of a declared field type (see the module docstring)."""
    if isinstance(declared, Mapping):
        return _object_model(name, declared)
    if isinstance(declared, list) and len(declared) == 1:
        return list[python_type(declared[0], name)]  # type: ignore[misc]
    text = str(declared).strip()
    options = [part.strip() for part in _split_top(text, "|")]
    if len(options) > 1:
        kinds = [python_type(o, name) for o in options if o != "null"]
        kind = Union[tuple(kinds)] if len(kinds) > 1 else kinds[0]  # noqa: UP007 (built at run time)
        return Optional[kind] if "null" in options else kind  # noqa: UP045
    generic = re.fullmatch(r"(list|dict)\[(.*)\]", text)
    if generic:
        args = _split_top(generic.group(2), ",")
        if generic.group(1) == "list":
            return list[python_type(args[0], name)]  # type: ignore[misc]
        return dict[python_type(args[0], name), python_type(args[1], name)]  # type: ignore[misc]
    return _SCALARS.get(text, Any)


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _object_model(name: str, declared: Mapping[str, Any], extra: str = "allow") -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for field, kind in declared.items():
        hint = python_type(kind, name + _camel(field))
        optional = "null" in str(kind).lower() if not isinstance(kind, (Mapping, list)) else False
        fields[field] = (hint, None if optional else ...)
    return create_model(name, __config__=ConfigDict(extra=extra), **fields)  # type: ignore[call-overload]


def _camel(*words: str) -> str:
    return "".join(part.capitalize() for word in words for part in re.split(r"[^0-9A-Za-z]+", word) if part)


def _parameter_model(name: str, declared: Mapping[str, Any]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for field, spec in declared.items():
        spec = spec if isinstance(spec, Mapping) else {"type": spec}
        bounds = {key: spec[key] for key in ("ge", "le", "gt", "lt") if key in spec}
        hint = python_type(spec.get("type", "any"), name + _camel(field))
        fields[field] = (Optional[hint], Field(None, description=spec.get("description"), **bounds))  # noqa: UP045
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def _input_form(value: Any) -> str:
    """The tag of the form an input of a chat task has: ``chat`` for an object with ``messages``."""
    return "chat" if isinstance(value, Mapping) and "messages" in value or hasattr(value, "messages") else "input"


def task_schema(spec: Spec) -> TaskSchema:
    """The request and response models of ``spec``'s task."""
    base = _camel(spec.name)
    fields = InputFields.of(spec)
    declared_input = spec.metadata.get("input")
    types = declared_input if isinstance(declared_input, Mapping) else {}
    structured = _object_model(f"{base}Input", {n: types.get(n, "str") for n in fields.names}, extra="forbid")
    kinds: list[Any] = [structured]
    if fields.is_text:
        kinds.insert(0, str)
    if "text_pair" in fields.names:
        kinds.append(tuple[str, str])
    item = Union[tuple(kinds)] if len(kinds) > 1 else kinds[0]  # noqa: UP007
    chat = bool(spec.metadata.get("chat"))
    if chat:  # an object with "messages" is a conversation, checked (and its errors reported) as one alone
        conversation = _object_model(f"{base}Chat", CHAT, extra="forbid")
        item = Annotated[Union[Annotated[item, Tag("input")], Annotated[conversation, Tag("chat")]],  # noqa: UP007
                         Discriminator(_input_form)]
    parameters = dict(spec.metadata.get("parameters") or {})
    options = _parameter_model(f"{base}Parameters", parameters)
    request = create_model(
        f"{base}Request", __config__=ConfigDict(extra="forbid"),
        inputs=(Union[list[item], item], Field(description="One input, or a list of inputs predicted in order.")),  # noqa: UP007
        parameters=(options, Field(default_factory=options, description="The task's prediction options.")))
    output = dict(spec.metadata.get("output") or {})
    declared = {**output, "truncated": "bool"}
    prediction = _object_model(f"{base}Prediction", declared)
    prediction.model_fields["truncated"].description = "Whether the input was cut to the model's maximum length."
    return TaskSchema(request, prediction, fields, parameters, output, chat)
