"""The environment variables a job's Secrets give it, read from the store when it runs.

DataOS hands a container the key-values of the Secrets its spec names, as environment
variables named exactly like the keys (an Instance-secret with ``data: {USER_ID: ...,
APIKEY: ...}`` consumed with ``allKeys: true, consumptionType: envVars`` gives ``USER_ID``
and ``APIKEY``): every key of each ``secrets`` entry, and of each ``dataosSecrets`` entry
consumed as ``envVars`` (the default), or only its ``key``/``keys`` unless ``allKeys``.
That is also what the compiled Kubernetes pod asks the kubelet for (``compile/k8s.py``:
``envFrom`` and ``secretKeyRef``); in embedded mode nobody else would, so the container
stack calls :func:`store_secret_env`. Secrets consumed as files are not handled here.

A name is looked up as a Secret of the entry's ``workspace`` (else the job's), then as an
Instance-secret, as DataOS examples consume both the same way. Values are decrypted here
and returned to the caller only: this module never logs them, and errors name secrets and
keys, never values.
"""

from __future__ import annotations

from collections.abc import Mapping

from dataos_defs.manifest.common import DataosSecret, RuntimeSpec, env_text
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

ENV_CONSUMPTION = (None, "envVars")


class SecretNotFound(LookupError):
    """A Secret (or one of its keys) named by a job is not in the store any more."""


def secret_env(store: Store, spec: RuntimeSpec, workspace: str) -> dict[str, str]:
    """Variable name -> value for every Secret ``spec`` consumes as environment variables;
    a later entry wins over an earlier one for the same key, as later ``envFrom`` sources
    do on Kubernetes."""
    env: dict[str, str] = {}
    for name in spec.secrets or []:
        env.update(_values(store, name, workspace))
    for ref in spec.dataosSecrets or []:
        if ref.consumptionType in ENV_CONSUMPTION:
            env.update(_selected(ref, _values(store, ref.name, ref.workspace or workspace)))
    return env


def store_secret_env(spec: RuntimeSpec, workspace: str) -> dict[str, str]:
    """:func:`secret_env` over the store the environment names (``DATAOS_HOME`` or
    ``DATAOS_DATABASE_URL``), opened for this call: the resolver a step process uses."""
    with Store.open(settings=Settings.from_env()) as store:
        return secret_env(store, spec, workspace)


def _selected(ref: DataosSecret, values: Mapping[str, str]) -> dict[str, str]:
    keys = [*(ref.keys or []), *([ref.key] if ref.key else [])]
    if not keys or ref.allKeys or ref.allkeys:
        return dict(values)
    missing = [key for key in keys if key not in values]
    if missing:
        raise SecretNotFound(f"secret '{ref.name}' has no key {', '.join(sorted(missing))}")
    return {key: values[key] for key in keys}


def _values(store: Store, name: str, workspace: str) -> dict[str, str]:
    found = store.get("secret", name, workspace, unsanitize=True)
    section = "secret"
    if found is None:
        found = store.get("instance-secret", name, unsanitize=True)
        section = "instance-secret"
    if found is None:
        raise SecretNotFound(
            f"secret '{name}' is neither a Secret of workspace '{workspace}' nor an "
            "Instance-secret: apply it, or remove it from the job's spec"
        )
    data = (found.manifest.get(section) or {}).get("data") or {}
    return {str(key): env_text(value) for key, value in data.items()}
