"""Small valid manifests, written as users write them, shared by the Poros and interface
tests (format them with ``name``, ``password``, ``secret``, ``depot``, ``table``, ``stack``
and ``compute``)."""

PASSWORD = "hunter2-very-secret"

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
    host: localhost
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
        stack: {stack}
        compute: {compute}
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


def secret(name: str, password: str = PASSWORD) -> str:
    return SECRET.format(name=name, password=password)


def depot(name: str, secret: str) -> str:
    return DEPOT.format(name=name, secret=secret)


def workflow(
    name: str,
    depot: str,
    table: str = "orders",
    *,
    stack: str = "flare:7.0",
    compute: str = "runnable-default",
) -> str:
    return WORKFLOW.format(name=name, depot=depot, table=table, stack=stack, compute=compute)
