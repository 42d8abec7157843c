"""What the ``dataos-ctl dataset`` commands share: the address (``-a``, given before or after
the command), the common options, and the calls to ``/poros/api/v1/datasets``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.output import console, fail
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

PATH = "/poros/api/v1/datasets"
META = "dataset_address"

AddressOpt = Annotated[
    str | None,
    typer.Option(
        "-a",
        "--address",
        help="the dataset's UDL, e.g. dataos://lakehouse:retail/city (also accepted before "
        "the command)",
    ),
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]
NameOpt = Annotated[str, typer.Option("-n", "--name", help="name of the field ('a.b': nested)")]


def address_of(ctx: typer.Context, address: str | None) -> str:
    """``-a`` after the command, else the one given before it; a clear error without."""
    chosen = address or ctx.meta.get(META)
    if not chosen:
        fail("which dataset?", "give -a dataos://<depot>:<collection>/<dataset>")
    return str(chosen)


def call(client: DataosClient, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    found: dict[str, Any] = client.request(method, PATH + path, **kwargs)
    return found


def read(ctx: typer.Context, address: str | None, path: str, **params: Any) -> dict[str, Any]:
    with api_session() as client:
        return call(client, "GET", path, params={"address": address_of(ctx, address), **params})


def change(path: str, body: dict[str, Any]) -> dict[str, Any]:
    with api_session() as client:
        return call(client, "POST", path, json=body)


def say(text: str) -> None:
    console.print(text, markup=False)
