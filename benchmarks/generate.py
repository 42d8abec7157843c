"""Generated manifest sets for benchmarks (realistic mixes of Resource types)."""

from __future__ import annotations

from pathlib import Path

SECRET = """\
name: sec{i}
version: v1
type: instance-secret
instance-secret:
  type: key-value-properties
  acl: r
  data: {{username: u{i}, password: p{i}}}
"""

DEPOT = """\
name: pg{i}
version: v2alpha
type: depot
depot:
  type: POSTGRESQL
  external: true
  postgresql: {{subprotocol: postgresql, host: db{i}.local, port: 5432, database: shop}}
  secrets:
    - name: sec{i}
      keys: [sec{i}]
"""

WORKFLOW = """\
name: wf-{i}
version: v1
type: workflow
tags: [bench]
workflow:
  schedule: {{cron: "{minute} 3 * * *", timezone: UTC, concurrencyPolicy: Forbid}}
  dag:
    - name: extract
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: src, dataset: "dataos://pg{i}:public/orders?acl=r", format: jdbc}}
            steps:
              - sequence:
                  - {{name: cleaned, sql: "SELECT * FROM src WHERE amount > 0"}}
            outputs:
              - {{name: cleaned, dataset: "dataos://pg{i}:curated/orders_{i}?acl=rw", format: jdbc}}
    - name: summarise
      dependencies: [extract]
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: o, dataset: "dataos://pg{i}:curated/orders_{i}", format: jdbc}}
            steps:
              - sequence:
                  - {{name: daily, sql: "SELECT count(*) AS n FROM o"}}
            outputs:
              - {{name: daily, dataset: "dataos://pg{i}:curated/daily_{i}?acl=rw", format: jdbc}}
"""


def write_product_set(folder: Path, count: int) -> Path:
    """``count`` manifests: secrets, depots using them and workflows reading the depots."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = max(1, count // 3)
    written = 0
    for i in range(groups):
        for template, prefix in ((SECRET, "sec"), (DEPOT, "depot"), (WORKFLOW, "wf")):
            if written == count:
                break
            text = template.format(i=i, minute=i % 60)
            (folder / f"{prefix}{i:05d}.yaml").write_text(text)
            written += 1
    i = groups
    while written < count:
        (folder / f"sec{i:05d}.yaml").write_text(SECRET.format(i=i))
        written += 1
        i += 1
    return folder
