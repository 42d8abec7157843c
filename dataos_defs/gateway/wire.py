"""Result values on the wire, the way Trino's client protocol encodes them.

Both the Gateway's JSON API and its Trino-protocol endpoint send rows as JSON arrays whose
values follow Trino's conventions, so the official ``trino`` client maps them back to
Python types: decimals as strings (no precision lost to floats), dates as ISO dates,
timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` (with `` UTC`` or the zone for ``with time
zone``), varbinary as base64, non-finite doubles as ``"NaN"``/``"Infinity"``.
Each column carries a ``typeSignature`` ({rawType, arguments}) parsed from its type name.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

UNBOUNDED_VARCHAR = 2147483647
"""Trino reports an unbounded varchar with this length argument."""

Encoder = Callable[[Any], Any]


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated parts of a type's argument list."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _type_argument(text: str) -> dict[str, Any]:
    if text.isdigit():
        return {"kind": "LONG", "value": int(text)}
    return {"kind": "TYPE", "value": type_signature(text)}


def _row_field(text: str) -> dict[str, Any]:
    name, _, field_type = text.partition(" ")
    signature = type_signature(field_type)
    field = {"fieldName": {"name": name.strip('"')}, "typeSignature": signature}
    return {"kind": "NAMED_TYPE", "value": field}


def type_signature(type_name: str) -> dict[str, Any]:
    """Trino's structured form of a type name.

    >>> type_signature("decimal(10,2)")["arguments"][1]
    {'kind': 'LONG', 'value': 2}
    >>> type_signature("timestamp(6) with time zone")["rawType"]
    'timestamp with time zone'
    """
    text = type_name.strip().lower()
    suffix = ""
    for zone in (" with time zone", " without time zone"):
        if text.endswith(zone):
            text, suffix = text[: -len(zone)], zone if "without" not in zone else ""
    raw, _, rest = text.partition("(")
    raw = raw.strip() + suffix
    arguments_text = rest[: rest.rfind(")")] if rest else ""
    if raw == "row":
        arguments = [_row_field(part) for part in _split_arguments(arguments_text)]
    else:
        arguments = [_type_argument(part) for part in _split_arguments(arguments_text)]
    if raw in ("varchar", "char") and not arguments:
        arguments = [{"kind": "LONG", "value": UNBOUNDED_VARCHAR if raw == "varchar" else 1}]
    return {"rawType": raw, "arguments": arguments}


def column_descriptor(name: str, type_name: str) -> dict[str, Any]:
    return {"name": name, "type": type_name, "typeSignature": type_signature(type_name)}


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _timestamp_tz(value: datetime) -> str:
    if value.tzinfo is None:
        return _timestamp(value) + " UTC"
    offset = value.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return _timestamp(value) + " UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return _timestamp(value) + f" {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _double(value: Any) -> Any:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def _generic(value: Any) -> Any:
    """Anything without a dedicated encoder: JSON scalars as they are, the rest as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _double(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _timestamp_tz(value) if value.tzinfo else _timestamp(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [_generic(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _generic(v) for k, v in value.items()}
    return str(value)


def _nullable(encode: Encoder) -> Encoder:
    return lambda value: None if value is None else encode(value)


def encoder(type_name: str) -> Encoder:
    """How values of a column of this type are written."""
    raw = type_signature(type_name)["rawType"]
    if raw in ("double", "real"):
        return _nullable(_double)
    if raw == "decimal":
        return _nullable(str)
    if raw == "timestamp":
        return _nullable(_timestamp)
    if raw == "timestamp with time zone":
        return _nullable(_timestamp_tz)
    if raw in ("date", "time"):
        return _nullable(lambda v: v.isoformat())
    if raw == "varbinary":
        return _nullable(lambda v: base64.b64encode(bytes(v)).decode())
    if raw in ("uuid", "json"):
        return _nullable(str)
    return _generic


def row_encoder(types: Sequence[str]) -> Callable[[Sequence[Any]], list[Any]]:
    encoders = [encoder(t) for t in types]
    return lambda row: [encode(value) for encode, value in zip(encoders, row, strict=True)]
