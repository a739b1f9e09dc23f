"""JSON Schemas of the results' ``to_dict()`` output (``Prediction.json_schema()``, ...).

A result's ``to_dict()`` is JSON-ready: every output is ``{"value": number or nested list,
"unit": str}`` and the labels are strings or booleans (arrays of them for a sweep). The result
classes themselves hold pint quantities and registry objects, which have no JSON Schema; their
``json_schema()`` describes the dict instead (draft 2020-12).
"""

from __future__ import annotations

__all__ = ["QUANTITY", "result_schema"]

_NUMBERS = {"anyOf": [{"type": "number"}, {"type": "array"}]}
QUANTITY = {"type": "object", "properties": {"value": _NUMBERS, "unit": {"type": "string"}},
            "required": ["value", "unit"], "additionalProperties": False}


def _label(kind):
    return {"anyOf": [{"type": kind}, {"type": "array"}]}


def result_schema(title, quantities, *, labels=(), flags=(), strings=(), lists=(),
                  description="") -> dict:
    """Schema of a ``to_dict()``: named quantities, string labels (or arrays of them for a
    sweep), boolean flags (or arrays), plain strings and lists of strings; other keys are
    quantities."""
    props = {q: QUANTITY for q in quantities}
    props.update({k: _label("string") for k in labels})
    props.update({k: _label("boolean") for k in flags})
    props.update({k: {"type": "string"} for k in strings})
    props.update({k: {"type": "array", "items": {"type": "string"}} for k in lists})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title,
            "description": description or f"{title}.to_dict()", "type": "object",
            "properties": props, "required": sorted(props),
            "additionalProperties": QUANTITY}
