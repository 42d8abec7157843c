"""The launch benchmark's baseline location: the 3-job workflow written by hand in Dagster.

Three chained assets (each only logs, like the trivial stack's executor) and one asset job;
loaded by ``dagster dev`` as a second code location beside the DataOS one.
"""

import dagster as dg


@dg.asset(key=["hand", "first"])
def first(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("trivial step hand/first ran")
    return dg.MaterializeResult()


@dg.asset(key=["hand", "second"], deps=[first])
def second(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("trivial step hand/second ran")
    return dg.MaterializeResult()


@dg.asset(key=["hand", "third"], deps=[second])
def third(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("trivial step hand/third ran")
    return dg.MaterializeResult()


hand_chain = dg.define_asset_job("hand_chain", selection=[first, second, third])

defs = dg.Definitions(assets=[first, second, third], jobs=[hand_chain])
