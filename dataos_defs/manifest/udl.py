"""Uniform Data Links: ``dataos://depot:collection/dataset?acl=r|rw`` and the dotted form.

>>> Udl.parse("dataos://lakehouse:retail/orders?acl=rw")
Udl(depot='lakehouse', collection='retail', dataset='orders', acl='rw')
>>> Udl.parse("dataos://lakehouse").dotted
'lakehouse'
>>> Udl.parse("pg.public.customers").address
'dataos://pg:public/customers'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

_ADDRESS = re.compile(
    r"^dataos://(?P<depot>[A-Za-z0-9_-]+)"
    r"(?::(?P<collection>[^/?:\s]+)(?:/(?P<dataset>[^?\s]+))?)?"
    r"(?:\?(?P<query>[^\s]*))?$"
)
_DOTTED = re.compile(r"^(?P<depot>[A-Za-z0-9_-]+)\.(?P<collection>[^.\s]+)\.(?P<dataset>[^.\s]+)$")
ACLS = ("r", "rw")


@dataclass(frozen=True)
class Udl:
    depot: str
    collection: str | None = None
    dataset: str | None = None
    acl: str | None = None

    @classmethod
    def parse(cls, text: str) -> Udl:
        """Parse an address or dotted name; raises ``ValueError`` with what is wrong."""
        match = _ADDRESS.match(text)
        if match:
            acl = _parse_acl(match.group("query"))
            return cls(match.group("depot"), match.group("collection"), match.group("dataset"), acl)
        match = _DOTTED.match(text)
        if match:
            return cls(match.group("depot"), match.group("collection"), match.group("dataset"))
        if text.startswith("dataos:") and not text.startswith("dataos://"):
            raise ValueError(f"'{text}' is not a UDL: the scheme is written 'dataos://'")
        raise ValueError(
            f"'{text}' is not a UDL: expected dataos://depot[:collection[/dataset]][?acl=r|rw] "
            "or depot.collection.dataset"
        )

    @property
    def address(self) -> str:
        """The canonical address without ``?acl``."""
        text = f"dataos://{self.depot}"
        if self.collection:
            text += f":{self.collection}"
            if self.dataset:
                text += f"/{self.dataset}"
        return text

    @property
    def dotted(self) -> str:
        return ".".join(p for p in (self.depot, self.collection, self.dataset) if p)


def _parse_acl(query: str | None) -> str | None:
    if not query:
        return None
    acl = None
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key != "acl":
            raise ValueError(f"unknown UDL parameter '{key}'; only 'acl' is accepted")
        if value not in ACLS:
            raise ValueError(f"acl must be 'r' or 'rw', not '{value}'")
        acl = value
    return acl


def _validate_udl(value: str) -> str:
    Udl.parse(value)
    return value


UdlStr = Annotated[str, AfterValidator(_validate_udl)]
