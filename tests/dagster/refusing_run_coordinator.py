"""A Dagster run coordinator that refuses the runs of one workflow, for the reconcile tests.

Configured in the instance of a real ``dagster dev`` (``dagster.yaml``, see
:data:`INSTANCE_CONFIG`), it queues every run as Dagster's own :class:`QueuedRunCoordinator`
does, except those tagged ``dataos/workflow: refused``: their submission raises, so
Dagster answers ``launchRun`` with a ``PythonError`` carrying :data:`REFUSAL` (the run
itself is recorded as failed). That is a launch Dagster turns down for real, as a
coordinator enforcing a quota or a maintenance window would.

Loaded by Dagster as ``refusing_run_coordinator`` (this folder must be on its
``PYTHONPATH``).
"""

from __future__ import annotations

from dagster import DagsterRun, QueuedRunCoordinator, SubmitRunContext

REFUSED_WORKFLOW = "refused"
REFUSAL = "the test run coordinator refuses every run of workflow 'refused'"
INSTANCE_CONFIG = """\
run_coordinator:
  module: refusing_run_coordinator
  class: RefusingRunCoordinator
"""
"""What ``dagster.yaml`` needs to use this coordinator."""


class RefusingRunCoordinator(QueuedRunCoordinator):
    """Dagster's queue, which turns down the runs of :data:`REFUSED_WORKFLOW`."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        if context.dagster_run.tags.get("dataos/workflow") == REFUSED_WORKFLOW:
            raise RuntimeError(REFUSAL)
        return super().submit_run(context)
