"""Pieces the cluster stacks share: generated secrets, names, kubeconfig, outputs.

The database password never appears in the synthesized JSON nor in Terraform state: an
*ephemeral* ``random_password`` (hashicorp/random >= 3.7, Terraform >= 1.11) is generated during
``apply`` and handed only to *write-only* arguments — the database user's password and the
secret manager entry's value (``*_wo`` with a ``*_wo_version``). Both receive the same value
in the apply that creates them; later applies generate a new ephemeral value that nobody
writes, because write-only arguments are sent again only when their version changes. Rotating
is bumping ``PASSWORD_VERSION`` (both receive the new value in that apply).

The store's Fernet key (``DATAOS_SECRET_KEY``, dataos_defs/poros/vault.py) is generated the
same way and written only to its secret manager entry ``<cluster>-secret-key``: 43 characters
of the url-safe base64 alphabet and a ``=`` (32 bytes, what ``Fernet(key)`` accepts; AWS
generates it with Secrets Manager's own ephemeral generator, ``aws_secrets``).
``SECRET_KEY_VERSION`` must NEVER be bumped: the store's secrets are encrypted with that key,
and a new version would overwrite it with a fresh one, leaving every stored secret
undecryptable. For the same reason the entry must not be deleted or recreated.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from cdktn import (
    TerraformEphemeralResource,
    TerraformOutput,
    TerraformStack,
)

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.contract import ClusterHandle

# The login the platform (Poros store, Dagster storage) uses on the managed PostgreSQL.
DATABASE_USER = "dataos"
DATABASE_PORT = "5432"
# Bump to rotate the database password (see the module docstring).
PASSWORD_VERSION = 1
# NEVER bump: the store is encrypted with the key written at this version (module docstring).
SECRET_KEY_VERSION = 1
# A Fernet key: 32 bytes as url-safe base64, i.e. 43 characters of this alphabet and one "=".
FERNET_KEY_CHARACTERS = 43
URLSAFE_SPECIAL = "-_"
FERNET_PADDING = "="
RANDOM_PROVIDER = {"source": "hashicorp/random", "version": ">= 3.7"}
# Ephemeral resources and write-only arguments.
TERRAFORM_VERSION = ">= 1.11"
_SECRET_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def _ephemeral_random(stack: TerraformStack, name: str, arguments: dict[str, object]) -> str:
    """A token for a ``random_password`` generated at apply time (write-only arguments only)."""
    stack.add_override("terraform.required_version", TERRAFORM_VERSION)
    stack.add_override("terraform.required_providers.random", RANDOM_PROVIDER)
    generated = TerraformEphemeralResource(stack, name, terraform_resource_type="random_password")
    for key, value in arguments.items():
        generated.add_override(key, value)
    return generated.get_string_attribute("result")


def ephemeral_password(stack: TerraformStack) -> str:
    """A token for a password generated at apply time, usable only in write-only arguments.

    Alphanumeric on purpose: it needs no escaping in database URLs or shells."""
    return _ephemeral_random(stack, "database-password", {"length": 40, "special": False})


def ephemeral_fernet_key(stack: TerraformStack) -> str:
    """A token for a Fernet key generated at apply time, for write-only arguments only: 43
    characters drawn from the 64 of url-safe base64, then the padding."""
    key = _ephemeral_random(
        stack,
        "fernet-key",
        {
            "length": FERNET_KEY_CHARACTERS,
            "special": True,
            "override_special": URLSAFE_SPECIAL,
        },
    )
    return f"{key}{FERNET_PADDING}"


@dataclass(frozen=True)
class StoredSecret:
    """A secret manager entry the stack writes write-only and External Secrets reads: its
    construct id, its name, what it holds, the value's token and the version it is written at."""

    construct: str
    name: str
    content_type: str
    value: str
    version: int


def stored_secrets(
    stack: TerraformStack, model: KernelModel, password: str
) -> tuple[StoredSecret, StoredSecret]:
    """The database ``password`` and a Fernet key generated for the store, as the entries a
    stack with a ``random_password`` writes (GCP, Azure): the same names and versions on every
    cloud, so rotating one (``PASSWORD_VERSION``) or never bumping the other
    (``SECRET_KEY_VERSION``) is decided here once."""
    return (
        StoredSecret(
            "secret-database",
            model.database.password_secret,
            "password",
            password,
            PASSWORD_VERSION,
        ),
        StoredSecret(
            "secret-key",
            model.secret_key_secret,
            "fernet-key",
            ephemeral_fernet_key(stack),
            SECRET_KEY_VERSION,
        ),
    )


def secret_entry_name(name: str) -> str:
    """A secret manager entry name both clouds accept (letters, digits, hyphens)."""
    return _SECRET_UNSAFE.sub("-", name).strip("-")


def short_name(name: str, limit: int, *, hyphens: bool = True) -> str:
    """``name`` lowered and made safe, kept as is when it fits in ``limit`` characters, else cut
    and suffixed with 5 hex digits of its hash: deterministic, and two names differ after
    shortening whenever they differed before (but for a hash collision, which callers check)."""
    unsafe = r"[^a-z0-9-]+" if hyphens else r"[^a-z0-9]+"
    safe = re.sub(unsafe, "-" if hyphens else "", name.lower()).strip("-")
    if not safe[:1].isalpha():
        safe = f"n{safe}"
    if safe == name and len(safe) <= limit:
        return safe
    digest = hashlib.sha256(name.encode()).hexdigest()[:5]
    head = safe[: limit - len(digest) - (1 if hyphens else 0)].rstrip("-")
    return f"{head}-{digest}" if hyphens else f"{head}{digest}"


def unique_names(names: dict[str, str]) -> dict[str, str]:
    """``names`` (key -> derived name) after checking that no two keys share a derived name."""
    seen: dict[str, str] = {}
    for key, derived in names.items():
        if derived in seen:
            raise ValueError(f"{key!r} and {seen[derived]!r} both derive the name {derived!r}")
        seen[derived] = key
    return names


def kubeconfig(model: KernelModel, handle: ClusterHandle) -> str:
    """A kubeconfig (JSON, which kubectl reads as YAML) that authenticates by exec only: it
    holds no token and no client key, nothing that outlives the caller's cloud login. Same
    shape as the AWS stack's."""
    name = model.cluster_name
    auth = handle.exec_auth
    user = {
        "exec": {
            "apiVersion": auth.api_version,
            "command": auth.command,
            "args": list(auth.args),
            "interactiveMode": "Never",
        }
    }
    cluster = {"server": handle.host, "certificate-authority-data": handle.ca_certificate_b64}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": user}],
    }
    return json.dumps(config, sort_keys=True)


def cluster_outputs(stack: TerraformStack, model: KernelModel, handle: ClusterHandle) -> None:
    """What an operator needs to reach the cluster (the AWS stack's output names); references
    and names only."""
    values = {
        "cluster_name": handle.cluster_name,
        "cluster_endpoint": handle.host,
        "cluster_ca_certificate": handle.ca_certificate_b64,
        "warehouse_bucket": handle.warehouse_bucket_url,
        "history_bucket": handle.history_bucket_url,
        "kubeconfig": kubeconfig(model, handle),
    }
    for name, value in values.items():
        TerraformOutput(stack, name, value=value, static_id=True)
