"""Activities to JSON without msrest's validating serializer.

msrest's `Model.serialize()` was the largest single cost of a Direct Line turn in
the benchmark (docs/benchmark.md): it validates every field of every activity.
Our activities are built by botbuilder and by us, so a plain walk over each
model's attribute map gives the same JSON (a unit test compares the two on
real replies) at a fraction of the cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any

from msrest.serialization import Model

_PLAIN = (str, int, float, bool)


def to_json(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:  # most fields: nothing to convert
        return value
    if isinstance(value, Model):
        out = {}
        fields = value.__dict__
        for attribute, key in _keys(type(value)):
            item = fields.get(attribute)
            if item is not None:
                out[key] = to_json(item)
        extra = fields.get("additional_properties")
        if extra:
            for key, item in extra.items():
                out.setdefault(key, to_json(item))
        return out
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        micro = str(moment.microsecond).rjust(6, "0").rstrip("0").ljust(3, "0")
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{micro}Z"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


@cache
def _keys(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """A model class's attributes and their JSON keys, from msrest's own map, once per class."""
    return tuple((attribute, spec["key"]) for attribute, spec in model._attribute_map.items())  # noqa: SLF001
