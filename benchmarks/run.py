"""``make bench``: every performance target of the issues, with its baseline, in one run."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import admission
import apply_large
import caretaker_aggregates
import caretaker_recording
import cli_startup
import deletes
import gateway_e2e
import gateway_rewrite
import heimdall_engine
import heimdall_http
import ingress_overhead
import kernel_model
import kernel_synth
import listing
import log_rotation
import metis_ingestion
import metis_lineage
import metis_search
import quality_gx
import query_cancel
import run_governance
import services_reconcile
import spine1
import spine2
import unit_hot_paths
import web_catalog
import web_pages

BENCHMARKS = (
    spine1.main,
    unit_hot_paths.main,
    functools.partial(heimdall_engine.main, []),
    heimdall_http.main,
    spine2.main,
    gateway_rewrite.main,
    gateway_e2e.main,
    run_governance.main,
    admission.main,
    log_rotation.main,
    deletes.main,
    apply_large.main,
    listing.main,
    cli_startup.main,
    kernel_model.main,
    kernel_synth.main,
    caretaker_recording.main,
    caretaker_aggregates.main,
    metis_search.main,
    quality_gx.main,
    metis_lineage.main,
    metis_ingestion.main,
    services_reconcile.main,
    ingress_overhead.main,
    web_pages.main,
    web_catalog.main,
    query_cancel.main,
)
"""Each benchmark's entry point, in the order ``make bench`` runs them."""


def main() -> None:
    for index, benchmark in enumerate(BENCHMARKS):
        if index:
            print()
        benchmark()


if __name__ == "__main__":
    main()
