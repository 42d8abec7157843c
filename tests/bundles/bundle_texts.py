"""Bundles the tests apply (format with ``name``, ``ws`` and the other fields named)."""

SECRET = """\
name: {name}
version: v1
type: instance-secret
instance-secret:
  type: key-value-properties
  acl: r
  data:
    username: reader
    password: hunter2-in-a-bundle
"""

DEPOT = """\
name: {name}
version: v2alpha
type: depot
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

SERVICE_AND_WORKER = """\
name: {name}
version: v1beta
type: bundle
bundle:
  workspaces:
    - name: {ws}
      description: made by the bundle
  resources:
    - id: creds
      spec:
        name: {name}-sec
        version: v1
        type: instance-secret
        instance-secret:
          type: key-value-properties
          acl: r
          data: {{username: reader, password: hunter2-in-a-bundle}}
    - id: db
      spec:
        name: {name}db
        version: v2alpha
        type: depot
        depot:
          type: POSTGRESQL
          external: true
          postgresql: {{subprotocol: postgresql, host: localhost, port: 5432, database: shop}}
          secrets:
            - name: {name}-sec
              keys: [{name}-sec]
    - id: api
      workspace: {ws}
      dependencyConditions:
        - resourceId: db
          status: {{is: [active]}}
      spec:
        name: api
        version: v1
        type: service
        service:
          servicePort: 8080
          replicas: 1
          stack: container
          compute: runnable-default
          stackSpec: {{image: python:3.11, command: [python, -c, "pass"]}}
    - id: pump
      workspace: {ws}
      timeout: {timeout}
      dependencyConditions:
        - resourceId: api
          runtime: {{is: ["running:1"]}}
      spec:
        name: pump
        version: v1beta
        type: worker
        worker:
          replicas: 1
          stack: container
          compute: runnable-default
          stackSpec: {{image: python:3.11, command: [python, -c, "pass"]}}
"""
"""A secret, a depot using it, a Service waiting for the depot to be ``active`` and a
Worker waiting for the Service to run (its runtime is the test's stand-in)."""

NEVER = """\
name: {name}
version: v1beta
type: bundle
bundle:
  resources:
    - id: creds
      spec:
        name: {name}-sec
        version: v1
        type: instance-secret
        instance-secret:
          type: key-value-properties
          acl: r
          data: {{username: reader, password: x}}
    - id: later
      timeout: 1s
      dependencyConditions:
        - resourceId: creds
          status: {{is: [error]}}
      spec:
        name: {name}-later
        version: v1
        type: instance-secret
        instance-secret:
          type: key-value-properties
          acl: r
          data: {{username: reader, password: y}}
"""
"""A condition that never holds (a secret is ``active``, never ``error``)."""

CYCLE = """\
name: loop
version: v1beta
type: bundle
bundle:
  resources:
    - id: a
      dependencies: [b]
      spec: {name: a-sec, version: v1, type: instance-secret,
             instance-secret: {type: key-value, acl: r, data: {k: v}}}
    - id: b
      dependencies: [a, ghost]
      spec: {name: b-sec, version: v1, type: instance-secret,
             instance-secret: {type: key-value, acl: r, data: {k: v}}}
"""
