"""Pieces the GCP and Azure cluster stacks share: state backend, database password, kubeconfig.

The database password never appears in the synthesized JSON nor in Terraform state: an
*ephemeral* ``random_password`` (hashicorp/random >= 3.7, Terraform >= 1.11) is generated during
``apply`` and handed only to *write-only* arguments — the database user's password and the
secret manager entry's value (``*_wo`` with a ``*_wo_version``). Both receive the same value
in the apply that creates them; later applies generate a new ephemeral value that nobody
writes, because write-only arguments are sent again only when their version changes. Rotating
is bumping ``PASSWORD_VERSION`` (both receive the new value in that apply).
"""

from __future__ import annotations

import hashlib
import json
import re

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
RANDOM_PROVIDER = {"source": "hashicorp/random", "version": ">= 3.7"}
# Ephemeral resources and write-only arguments.
TERRAFORM_VERSION = ">= 1.11"
_SECRET_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def ephemeral_password(stack: TerraformStack) -> str:
    """A token for a password generated at apply time, usable only in write-only arguments.

    Alphanumeric on purpose: it needs no escaping in database URLs or shells."""
    stack.add_override("terraform.required_version", TERRAFORM_VERSION)
    stack.add_override("terraform.required_providers.random", RANDOM_PROVIDER)
    password = TerraformEphemeralResource(
        stack, "database-password", terraform_resource_type="random_password"
    )
    password.add_override("length", 40)
    password.add_override("special", False)
    return password.get_string_attribute("result")


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
