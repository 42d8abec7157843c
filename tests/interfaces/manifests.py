"""Small valid manifests for interface tests, written as users write them."""

from __future__ import annotations

SECRET = """\
name: {name}
version: v1
type: instance-secret
description: credentials
instance-secret:
  type: key-value-properties
  acl: r
  data:
    username: reader
    password: {password}
"""

DEPOT = """\
name: {name}
version: v2alpha
type: depot
description: a postgres depot
depot:
  type: POSTGRESQL
  external: true
  postgresql:
    subprotocol: postgresql
    host: 127.0.0.1
    port: 5432
    database: shop
  secrets:
    - name: {secret}
      keys: [{secret}]
"""

WORKFLOW = """\
name: {name}
version: v1
type: workflow
description: copies a table
workflow:
  schedule:
    cron: "0 3 * * *"
  dag:
    - name: copy
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - name: src
                dataset: dataos://{depot}:public/{table}?acl=r
                format: jdbc
            outputs:
              - name: src
                dataset: dataos://{depot}:copies/{table}?acl=rw
                format: jdbc
"""


def product(prefix: str, password: str = "s3cr3t-value") -> str:
    """A secret, a depot using it and a workflow reading it, as one multi-document text."""
    secret = f"{prefix}sec"
    depot = f"{prefix}pg"
    return "---\n".join(
        [
            SECRET.format(name=secret, password=password),
            DEPOT.format(name=depot, secret=secret),
            WORKFLOW.format(name=f"{prefix}-copy", depot=depot, table="orders"),
        ]
    )
