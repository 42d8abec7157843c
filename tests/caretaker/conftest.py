"""Fixtures of the Caretaker tests: a real Dagster instance that ran a good and a bad run
of compiled workflows, and a store whose Caretaker tables the sensor wrote."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from dagster import DagsterInstance, Definitions, build_sensor_context
from sqlalchemy import Engine

from dataos_defs.caretaker.db import writer_engine
from dataos_defs.compile import CompileInput
from dataos_defs.location.caretaker_sensor import evaluate
from dataos_defs.location.definitions import compile_location
from dataos_defs.location.executors import EXECUTORS_ENV
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.poros.settings import Settings
from tests.caretaker.manifests import BAD, GOOD

OWNER = "data-owner"


@dataclass
class Ran:
    instance: DagsterInstance
    definitions: Definitions
    settings: Settings
    engine: Engine
    good_run: str
    bad_run: str
    cursor: str | None = None

    def tick(self, cursor: str | None = None) -> str | None:
        """Evaluate the sensor once from ``cursor``; the cursor it leaves."""
        context = build_sensor_context(
            instance=self.instance, cursor=cursor, definitions=self.definitions
        )
        evaluate(context, self.settings)
        return context.cursor


def compiled(workspace: str = "public") -> Definitions:
    inputs = [
        CompileInput(Workflow.model_validate(yaml.safe_load(text)), workspace, OWNER, OWNER)
        for text in (GOOD, BAD)
    ]
    return compile_location(inputs)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    home = tmp_path_factory.mktemp("caretaker-home")
    patch = pytest.MonkeyPatch()
    patch.setenv(EXECUTORS_ENV, "tests.caretaker.stacks:EXECUTORS")
    patch.setenv("DATAOS_HOME", str(home))
    try:
        definitions = compiled()
        (home / "dagster").mkdir()
        with DagsterInstance.local_temp(str(home / "dagster")) as instance:
            good = definitions.resolve_job_def("public__good").execute_in_process(instance=instance)
            bad = definitions.resolve_job_def("public__bad").execute_in_process(
                instance=instance, raise_on_error=False
            )
            settings = Settings.from_env({"DATAOS_HOME": str(home)})
            engine = writer_engine(settings.database_url)
            ran = Ran(instance, definitions, settings, engine, good.run_id, bad.run_id)
            ran.cursor = ran.tick()
            yield ran
    finally:
        patch.undo()
