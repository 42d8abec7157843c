"""Issue 9 targets: apply-time authorization of a 500-dataset workflow adds <= 200 ms (one
batched decision call per identity).

A workflow of 100 flare jobs, each reading 4 source datasets and writing 1 (500 datasets),
applied by a data developer whom a policy allows to read the sources and write the outputs.
Measured in the API server's process, on the same store: the apply's own work (validation,
references, the one-writer rule, the transaction, as a dry run) is the baseline; admission
(run-as, 500 dataset decisions, secrets, stacks) is what issue 9 adds. Cold = decision cache
empty (every decision evaluated by the engine); warm = re-applied with unchanged policies.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOBS = 100
INPUTS_PER_JOB = 4


def _workflow() -> str:
    jobs = []
    for j in range(JOBS):
        inputs = "".join(
            f"              - name: in{i}\n"
            f"                dataset: dataos://src:raw/t{j}_{i}?acl=r\n"
            "                format: jdbc\n"
            for i in range(INPUTS_PER_JOB)
        )
        jobs.append(
            f"    - name: job{j}\n"
            "      spec:\n"
            "        stack: flare:7.0\n"
            "        stackSpec:\n"
            "          job:\n"
            "            inputs:\n"
            f"{inputs}"
            "            steps:\n"
            "              - sequence:\n"
            f"                  - name: out{j}\n"
            "                    sql: SELECT * FROM in0\n"
            "            outputs:\n"
            f"              - name: out{j}\n"
            f"                dataset: dataos://lake:curated/o{j}?acl=rw\n"
            "                format: iceberg\n"
        )
    return "name: wide\nversion: v1\ntype: workflow\nworkflow:\n  dag:\n" + "".join(jobs)


SETUP = """\
name: src
version: v2alpha
type: depot
depot:
  type: POSTGRESQL
  postgresql: {host: 127.0.0.1, port: 5432, database: src}
---
name: lake
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse: {warehouse: warehouse}
---
name: wide-access
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[users:id:dev]]}
    predicates: [read, write]
    objects: {paths: ["dataos://src:**", "dataos://lake:**"]}
    allow: true
"""


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-admission-"))
    os.environ["DATAOS_HOME"] = str(home)
    from dataos_defs.api.admission import Subject, admit
    from dataos_defs.heimdall.service import Heimdall
    from dataos_defs.manifest.loader import parse_yaml
    from dataos_defs.manifest.validate import parse_documents
    from dataos_defs.poros.apply import apply_resources
    from dataos_defs.poros.identities import Identities
    from dataos_defs.poros.store import Store

    store = Store.open(f"sqlite:///{home}/poros.db")
    identities = Identities(store)
    identities.create_user("dev", "person", tags=["roles:id:data-dev"], actor="bench")
    documents, _ = parse_yaml(SETUP, "setup.yaml")
    apply_resources(store, parse_documents(documents), None, "dataos-operator")
    heimdall = Heimdall(store, home)
    dev = Subject("dev", identities.get_user("dev").tags)  # type: ignore[union-attr]
    documents, _ = parse_yaml(_workflow(), "wide.yaml")
    parsed = parse_documents(documents)
    datasets = sum(
        len(spec.runtime_consumed(p)) + len(spec.runtime_produced(p))
        for spec, p in parsed[0].model.runtime_specs()
    )

    def baseline() -> float:
        started = time.perf_counter()
        apply_resources(store, parsed, None, "dev", dry_run=True)
        return time.perf_counter() - started

    def admission(cold: bool) -> float:
        if cold:
            heimdall.pdp._changed()
        started = time.perf_counter()
        run_as = admit(heimdall, store, identities, dev, home, None, parsed)
        elapsed = time.perf_counter() - started
        assert run_as, "the workflow was not admitted"
        return elapsed

    base = statistics.median(baseline() for _ in range(5))
    cold = statistics.median(admission(True) for _ in range(5))
    warm = statistics.median(admission(False) for _ in range(5))
    heimdall.close()
    store.close()
    print(f"Admission of a {datasets}-dataset workflow ({JOBS} jobs), in process, median of 5")
    print(f"  apply without admission (dry run, baseline) {base * 1000:8.1f} ms")
    print(
        f"  admission, decision cache cold             {cold * 1000:8.1f} ms  "
        f"(target <= 200 ms added; {cold / base:.2f}x the baseline)"
    )
    print(f"  admission, decision cache warm             {warm * 1000:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
