"""How platform objects are named for access decisions.

Resources are addressed like datasets, so one glob syntax covers both:

* a workspace-level Resource: ``dataos://<type>:<workspace>/<name>``
  (``dataos://workflow:team-a/daily``; ``dataos://*:team-a/**`` is "all of team-a");
* an instance-level Resource: ``dataos://<type>/<name>`` (``dataos://depot/shoppg``);
* the secret values of a Resource (``get --unsanitize``): ``<resource path>/secrets``;
* the logs of a Resource: ``<resource path>/logs``;
* a workspace itself: ``dataos://workspace/<name>``; a user: ``dataos://user/<id>``;
* anything else is named by its API path (``/v1/data/trino/allow``), with the HTTP
  method as predicate.

>>> resource_object("workflow", "daily", "team-a")
'dataos://workflow:team-a/daily'
>>> resource_object("depot", "shoppg", None, "secrets")
'dataos://depot/shoppg/secrets'
"""

from __future__ import annotations

SELF_TAG = "heimdall:self"
"""Object tag added when a user acts on their own user record (self-service policies)."""


def resource_object(kind: str, name: str, workspace: str | None, part: str | None = None) -> str:
    base = f"dataos://{kind}:{workspace}/{name}" if workspace else f"dataos://{kind}/{name}"
    return f"{base}/{part}" if part else base


def workspace_object(name: str) -> str:
    return f"dataos://workspace/{name}"


def user_object(user_id: str) -> str:
    return f"dataos://user/{user_id}"
