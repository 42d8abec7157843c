"""``make bench``: every performance target of the issues, with its baseline, in one run."""

from __future__ import annotations

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
import metis_lineage
import metis_search
import quality_gx
import run_governance
import services_reconcile
import spine1
import spine2
import unit_hot_paths
import web_catalog
import web_pages


def main() -> None:
    spine1.main()
    print()
    unit_hot_paths.main()
    print()
    heimdall_engine.main([])
    print()
    heimdall_http.main()
    print()
    spine2.main()
    print()
    gateway_rewrite.main()
    print()
    gateway_e2e.main()
    print()
    run_governance.main()
    print()
    admission.main()
    print()
    log_rotation.main()
    print()
    deletes.main()
    print()
    apply_large.main()
    print()
    listing.main()
    print()
    cli_startup.main()
    print()
    kernel_model.main()
    print()
    kernel_synth.main()
    print()
    caretaker_recording.main()
    print()
    caretaker_aggregates.main()
    print()
    metis_search.main()
    print()
    quality_gx.main()
    print()
    metis_lineage.main()
    print()
    services_reconcile.main()
    print()
    ingress_overhead.main()
    print()
    web_pages.main()
    print()
    web_catalog.main()


if __name__ == "__main__":
    main()
