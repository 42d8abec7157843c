"""Scanner stackSpecs of the lineage, usage and profiler types: their options validate, an
option of another type's pipeline (or of the wrong type) is one issue at its key and line,
and sample data (raw rows Metis would serve past the masks) are refused."""

from __future__ import annotations

import pytest
from support import assert_one_issue_at, replace_once, valid_as

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.stacks import ScannerSpec
from dataos_defs.manifest.workflow import Workflow
from tests.manifest.test_stacks import job

LINEAGE = """\
depot: dataos://shoppg
sourceConfig:
  config:
    type: DatabaseLineage
    queryLogDuration: 1
    resultLimit: 1000
    queryLogFilePath: dataos://querylogs:shop/queries
    schemaFilterPattern: {includes: ['^shop$']}
"""
PROFILER = """\
depot: dataos://shoppg
sourceConfig:
  config:
    type: Profiler
    profileSample: 25
    profileSampleType: PERCENTAGE
    computeMetrics: true
    generateSampleData: false
    tableFilterPattern: {includes: ['^orders$']}
"""
ONE_OPTION = """\
depot: shoppg
sourceConfig:
  config:
    type: DatabaseMetadata
    queryLogDuration: 7
"""
SPEC_PATH = "workflow.dag[0].spec.stackSpec.sourceConfig.config"


def _spec(text: str) -> ScannerSpec:
    spec = valid_as(job("scanner:2.0", text), Workflow).workflow.dag[0].spec
    assert spec is not None and isinstance(spec.stack_spec, ScannerSpec)
    return spec.stack_spec


def test_a_lineage_scan_names_its_query_log_as_a_dataset_it_reads() -> None:
    spec = _spec(LINEAGE)
    assert spec.sourceConfig is not None
    config = spec.sourceConfig.config
    assert (config.type, config.queryLogDuration, config.resultLimit) == (
        "DatabaseLineage",
        1,
        1000,
    )
    model = valid_as(job("scanner:2.0", LINEAGE), Workflow)
    at = ("workflow", "dag", 0, "spec", "stackSpec", "sourceConfig", "config", "queryLogFilePath")
    assert Reference("depot", "querylogs", None, at) in model.references()
    assert spec.consumed_datasets(()) == [
        ("dataos://querylogs:shop/queries", ("sourceConfig", "config", "queryLogFilePath"))
    ]


def test_usage_and_profiler_scans_validate() -> None:
    usage = LINEAGE.replace("DatabaseLineage", "DatabaseUsage").replace(
        "    schemaFilterPattern: {includes: ['^shop$']}\n", ""
    )
    assert _spec(usage).sourceConfig is not None
    profiler = _spec(PROFILER).sourceConfig
    assert profiler is not None
    assert (profiler.config.profileSample, profiler.config.computeMetrics) == (25, True)
    rows = _spec(PROFILER.replace("25", "500").replace("PERCENTAGE", "ROWS")).sourceConfig
    assert rows is not None and rows.config.profileSampleType == "ROWS"


# (spec, old, new, needle locating the line, key below sourceConfig.config, fragment)
CASES = [
    (PROFILER, "computeMetrics: true", "computeMetrics: often", "computeMetrics", "computeMetrics", "bool"),
    (LINEAGE, "resultLimit: 1000", "resultLimit: lots", "resultLimit", "resultLimit", "integer"),
    (LINEAGE, "queryLogDuration: 1", "queryLogDuration: 0", "queryLogDuration", "queryLogDuration", "greater than or equal to 1"),
    (ONE_OPTION, "DatabaseMetadata", "DatabaseMetadata", "queryLogDuration", "queryLogDuration", "DatabaseLineage, DatabaseUsage"),
    (ONE_OPTION, "queryLogDuration: 7", "profileSample: 5", "profileSample", "profileSample", "belongs to: Profiler"),
    (LINEAGE, "resultLimit: 1000", "markDeletedTables: true", "markDeletedTables", "markDeletedTables", "not an option of a DatabaseLineage"),
    (LINEAGE, "DatabaseLineage", "DatabaseUsage", "schemaFilterPattern", "schemaFilterPattern", "not an option of a DatabaseUsage"),
    (PROFILER, "generateSampleData: false", "generateSampleData: true", "generateSampleData", "generateSampleData", "masks"),
    (PROFILER, "profileSample: 25", "profileSample: 150", "profileSample:", "profileSample", "at most 100"),
    (PROFILER.replace("PERCENTAGE", "ROWS"), "profileSample: 25", "profileSample: 2.5", "profileSample: 2.5", "profileSample", "whole number"),
    (PROFILER, "PERCENTAGE", "SOME", "profileSampleType", "profileSampleType", "PERCENTAGE"),
    (PROFILER, "    profileSample: 25\n", "", "profileSampleType", "profileSampleType", "needs 'profileSample'"),
    (LINEAGE, "dataos://querylogs:shop/queries", "/etc/passwd", "queryLogFilePath", "queryLogFilePath", "no path of the platform's host"),
    (LINEAGE, "dataos://querylogs:shop/queries", "dataos://querylogs", "queryLogFilePath", "queryLogFilePath", "not a dataset address"),
    (LINEAGE, "DatabaseLineage", "DatabaseLineag", "DatabaseLineag", "type", "DatabaseLineage"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "old", "new", "needle", "key", "fragment"),
    CASES,
    ids=[c[4] + "-" + c[2] for c in CASES],
)
def test_a_wrong_option_is_one_issue_at_its_key(
    spec: str, old: str, new: str, needle: str, key: str, fragment: str
) -> None:
    text = job("scanner:2.0", replace_once(spec, old, new))
    assert_one_issue_at(text, needle, f"{SPEC_PATH}.{key}", fragment)
