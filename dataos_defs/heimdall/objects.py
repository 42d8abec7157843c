"""How platform objects are named for access decisions.

Data and Resources live in different namespaces, so that no glob written for one can ever
match the other (a policy on ``dataos://*:public/*`` tables must not reach the Resources
of the ``public`` workspace, nor the reverse):

* a dataset: its UDL, ``dataos://<depot>:<collection>/<dataset>``;
* a workspace-level Resource: ``poros://<type>:<workspace>/<name>``
  (``poros://workflow:team-a/daily``; ``poros://*:team-a/**`` is "all of team-a");
* an instance-level Resource: ``poros://<type>/<name>`` (``poros://depot/shoppg``);
* the secret values of a Resource (``get --unsanitize``): ``<resource>/secrets``;
* the logs of a Resource: ``<resource>/logs``;
* a workspace itself: ``poros://workspace/<name>``; a user: ``heimdall://user/<id>``;
* anything else is named by its API path (``/v1/data/trino/allow``), with the HTTP
  method as predicate.

>>> resource_object("workflow", "daily", "team-a")
'poros://workflow:team-a/daily'
>>> resource_object("depot", "shoppg", None, "secrets")
'poros://depot/shoppg/secrets'
"""

from __future__ import annotations

SELF_TAG = "heimdall:self"
"""Object tag added when a user acts on their own user record (self-service policies)."""
OWNER_TAG = "poros:owner"
"""Object tag added when a user calls, through the ingress, a Service they own (the policy
``system-service-owners`` lets owners call their own Services). Only the server adds it."""


def resource_object(kind: str, name: str, workspace: str | None, part: str | None = None) -> str:
    base = f"poros://{kind}:{workspace}/{name}" if workspace else f"poros://{kind}/{name}"
    return f"{base}/{part}" if part else base


def workspace_object(name: str) -> str:
    return f"poros://workspace/{name}"


def user_object(user_id: str) -> str:
    return f"heimdall://user/{user_id}"
