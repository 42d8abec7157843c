"""The embedded supervisor of Services and Workers: each replica is a local process.

Poros reconciles long-running Resources like a Kubernetes controller. The API server hands
the supervisor every live Service and Worker of the store (:meth:`Supervisor.reconcile`);
the supervisor's loop (one thread, a tick every quarter second) then:

- starts the missing replicas of each workload and stops extra ones;
- restarts a replica that exited, after an exponential backoff (1 s, 2 s, 4 s... capped
  at 60 s, reset after a run of 30 s); meanwhile the replica shows ``crashloop`` with its
  exit code, and a workload with none ready shows ``failed``;
- rolls a changed workload one replica at a time: a replica of the new revision starts,
  and an old one stops only once the new one is ready (:mod:`.converge`);
- stops every replica of a deleted workload: SIGTERM to its process group, SIGKILL after a
  grace period (10 s), then removes the workload's folder.

**What a replica runs** (:mod:`.spec`, :mod:`.runner`): the container stack's ``command +
arguments`` (``python`` is the platform's interpreter), in the working folder
``<home>/workloads/<kind>/<workspace>/<name>/data`` (``DATAOS_WORKLOAD_DIR``), with
``spec.envs``, the Secrets it consumes (read from the store at each start, given to the
process only: never logged nor written to the state file) and the variables the platform
sets. As for the container stack's local jobs, a replica runs as the API server's OS user,
without a container: ``use`` on ``poros://stack/container`` is required to apply one.

**Ports.** Several replicas of a Service cannot share one port on one machine, so each
replica gets its own free port on 127.0.0.1, in ``PORT`` (the first port) and
``DATAOS_PORT_<NAME>``; the manifest's ``servicePort`` is the port on Kubernetes. The
ingress reaches replicas through :meth:`Supervisor.endpoints`. A Service is ready when its
first port accepts a TCP connection; a Worker once it has stayed up 2 s.

**Logs** (:mod:`.logs`): one file per replica under the workload's ``logs`` folder, rotated
by size (``DATAOS_WORKLOAD_LOG_MAX_BYTES``, default 4 MiB, one rotated copy).

**When the API server stops** (:mod:`.state`, :mod:`.processes`): by default
(``DATAOS_WORKLOADS_ON_SHUTDOWN=stop``) a clean shutdown stops every replica, and the next
server starts them again at its first reconcile: an embedded platform leaves no process
behind (``make down``, test servers). With ``keep`` they outlive the API server (no
downtime across its restart). Either way a server that dies without shutting down (SIGKILL,
a crash) leaves its replicas running, and the next one re-adopts them: replicas start in
their own session and write their logs straight to files, and the state file
``<home>/workloads/state.json`` records each one's pid, kernel start time, command digest,
ports and revision. A replica is re-adopted only when that pid is still the same process
(start time, session leader, command line); one that died meanwhile counts as a restart.
While no API server runs, nothing restarts replicas.
``python -m dataos_defs.poros.supervisor stop`` stops any left running.

**Several API-server processes** (``serve --workers N``): each builds a supervisor, only
the one holding ``<home>/workloads/supervisor.lock`` (``flock``) acts; the others answer
``runtime``, ``endpoints`` and ``logs`` from the state file and retry the lock at every tick,
so one of them takes over when the holder stops. Each process calls ``reconcile`` with what
it read from the store, which also refreshes the desired state of a future holder.

Limits: :data:`~.spec.MAX_REPLICAS` replicas per workload
(``DATAOS_WORKLOAD_MAX_REPLICAS``), 64 starts per tick, log size as above.
"""

from dataos_defs.poros.supervisor.core import Supervisor

__all__ = ["Supervisor"]
