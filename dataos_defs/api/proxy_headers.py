"""Which headers a reverse proxy of the API server passes on: the Dagster door and the
Services ingress share one rule, so that neither ever forwards a caller's credential.

A request forwarded upstream loses its hop-by-hop headers (RFC 9110 §7.6.1, plus those its
``Connection`` header names), its framing (``Content-Length``: the proxy frames the body it
sends itself, so conflicting ``Transfer-Encoding``/``Content-Length`` pairs never reach an
upstream) and the caller's credentials (``Authorization``, ``apikey``, ``Cookie``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
CREDENTIALS = frozenset({"cookie", "authorization", "apikey"})
NOT_FORWARDED = HOP_BY_HOP | CREDENTIALS | {"host", "content-length"}
NOT_RETURNED = HOP_BY_HOP | {"set-cookie"}


def forwarded_headers(
    pairs: Iterable[tuple[str, str]], drop: frozenset[str]
) -> list[tuple[str, str]]:
    """``pairs`` less ``drop`` and the headers their ``Connection`` names (hop-by-hop too)."""
    listed = list(pairs)
    named = {
        token.strip().lower()
        for name, value in listed
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in listed if k.lower() not in drop and k.lower() not in named]


def _latin1(names: frozenset[str]) -> frozenset[bytes]:
    return frozenset(name.encode("latin-1") for name in names)


NOT_FORWARDED_RAW = _latin1(NOT_FORWARDED)
NOT_RETURNED_RAW = _latin1(NOT_RETURNED)


def connection_named(pairs: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The header names a ``Connection`` header of raw ``pairs`` lists (lower-cased)."""
    return frozenset(
        token.strip().lower()
        for name, value in pairs
        if name.lower() == b"connection"
        for token in value.split(b",")
    )


def returned_raw_headers(pairs: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An upstream answer's raw headers as passed back: lower-cased names (as ASGI wants),
    less :data:`NOT_RETURNED` and what its ``Connection`` names; :func:`forwarded_headers`
    without decoding and re-encoding every header of every answer."""
    named = connection_named(pairs)
    lowered = ((name.lower(), value) for name, value in pairs)
    return [
        (name, value)
        for name, value in lowered
        if name not in NOT_RETURNED_RAW and name not in named
    ]
