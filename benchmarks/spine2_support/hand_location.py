"""The launch benchmark's baseline location: the 3-job workflow written by hand in Dagster.

Three chained assets (each only logs, like the trivial stack's executor) and two asset
jobs over them: ``hand_chain`` with Dagster's default executor (one process spawned per
step), and ``hand_chain_forkserver`` whose step processes are forked from a server that
preloads Dagster, the executor settings the DataOS location uses, to compare like with
like. Loaded by ``dagster dev`` as a second code location beside the DataOS one.
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
hand_chain_forkserver = dg.define_asset_job(
    "hand_chain_forkserver",
    selection=[first, second, third],
    executor_def=dg.multiprocess_executor.configured(
        {"start_method": {"forkserver": {"preload_modules": ["dagster"]}}}
    ),
)

defs = dg.Definitions(assets=[first, second, third], jobs=[hand_chain, hand_chain_forkserver])
