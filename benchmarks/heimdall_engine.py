"""Heimdall: embedded decisions per second, regorus PDP (with and without its cache) vs
OPA 1.20.2 in-process (opa-golib-python-bindings) on the same policies, data and requests.

200 users and 300 tagged datasets in 10 workspaces; per-workspace and per-role access
policies plus a few denies, written as DataOS Policy manifests and compiled like any
other. Requests are drawn with Zipf weights over users and datasets (repeats happen, as
in real traffic). The goal is regorus >= 3x OPA.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataos_defs.heimdall.engine import create_engine  # noqa: E402
from dataos_defs.heimdall.pdp import AccessRequest, Decision, PolicyDecisionPoint  # noqa: E402
from dataos_defs.heimdall.policy_data import parse_policies  # noqa: E402

WORKSPACES = [f"team-{n}" for n in range(10)]
ROLES = ["user", "data-dev", "analyst", "pii-reader", "auditor", "steward", "intern"]
PREDICATES = ["read"] * 7 + ["write"] * 2 + ["select"]
GOAL = 3.0
# fmt: off
ROLE_POLICIES = [
    ("users-read-public", "[roles:id:user]", "[read]", "{tags: [tier:public]}", True),
    ("devs-read-all", "[roles:id:data-dev]", "[read, select]",
     "{paths: ['dataos://lakehouse:*/ds-*']}", True),
    ("analysts-gold", "[roles:id:analyst]", "[select]", "{tags: ['tier:gold', 'tier:silver']}",
     True),
    ("pii-readers", "[roles:id:pii-reader]", "[read]", "{tags: ['PII.*']}", True),
    ("auditors", "['roles:id:audit*']", "[read, select]",
     "{paths: ['dataos://lakehouse:{team-1,team-2,team-3}/**']}", True),
    ("no-pii-interns", "[roles:id:intern]", "['**']", "{tags: ['PII.*']}", False),
    ("no-secrets", "['users:**']", "[write]", "{paths: ['dataos://lakehouse:*/ds-[0-9]?7']}",
     False),
    ("no-team-9-analysts", "[[roles:id:analyst, 'dataos:workspace:team-[!0-8]']]", "['**']",
     "{paths: ['dataos://lakehouse:team-9/**']}", False),
]
# fmt: on


def _policy(name: str, subjects: str, predicates: str, objects: str, allow: bool) -> str:
    return (
        f"name: {name}\nversion: v1\ntype: policy\npolicy:\n  access:\n"
        f"    subjects: {{tags: {subjects}}}\n    predicates: {predicates}\n"
        f"    objects: {objects}\n    allow: {str(allow).lower()}\n"
    )


def policy_manifests() -> str:
    policies = []
    for workspace in WORKSPACES:
        policies.append(
            _policy(
                f"{workspace}-members",
                f"['dataos:workspace:{workspace}']",
                "[read, write, select]",
                f"{{paths: ['dataos://lakehouse:{workspace}/**']}}",
                True,
            )
        )
        policies.append(
            _policy(
                f"{workspace}-stewards",
                f"[[roles:id:steward, 'dataos:workspace:{workspace}']]",
                "['**']",
                f"{{paths: ['dataos://lakehouse:{workspace}/**', '/metis/api/v1/{workspace}/*']}}",
                True,
            )
        )
    policies += [_policy(*row) for row in ROLE_POLICIES]
    return "---\n".join(policies)


def users(rng: random.Random) -> list[list[str]]:
    people = []
    for n in range(200):
        tags = [f"users:id:u{n}"]
        tags += [f"roles:id:{r}" for r in rng.sample(ROLES, rng.choice([1, 1, 2, 3]))]
        tags += [f"dataos:workspace:{w}" for w in rng.sample(WORKSPACES, rng.choice([1, 1, 2]))]
        people.append(tags)
    return people


def datasets(rng: random.Random) -> list[tuple[str, list[str]]]:
    items = []
    for n in range(300):
        tags = [rng.choice(["tier:public", "tier:gold", "tier:silver", "tier:bronze"])]
        if n % 5 == 0:
            tags.append(rng.choice(["PII.Email", "PII.Name", "PII.PhoneNumber"]))
        items.append((f"dataos://lakehouse:{WORKSPACES[n % 10]}/ds-{n}", tags))
    return items


def requests(count: int, seed: int) -> list[AccessRequest]:
    rng = random.Random(seed)
    people, data = users(rng), datasets(rng)
    user_weights = [1 / (rank + 1) ** 1.1 for rank in range(len(people))]
    data_weights = [1 / (rank + 1) ** 1.1 for rank in range(len(data))]
    chosen_users = rng.choices(people, user_weights, k=count)
    chosen_data = rng.choices(data, data_weights, k=count)
    return [
        AccessRequest.of(tags, rng.choice(PREDICATES), path, object_tags)
        for tags, (path, object_tags) in zip(chosen_users, chosen_data, strict=True)
    ]


def run(engine: str, cache_size: int, batch: list[AccessRequest]) -> tuple[float, list[Decision]]:
    pdp = PolicyDecisionPoint(create_engine(engine), cache_size=cache_size, timeout=5.0)
    pdp.set_policies(parse_policies(policy_manifests(), "benchmark-policies.yaml"))
    pdp.decide(batch[0])
    pdp.set_policies(parse_policies(policy_manifests(), "benchmark-policies.yaml"))
    started = time.perf_counter()
    decisions = [pdp.decide(request) for request in batch]
    return len(batch) / (time.perf_counter() - started), decisions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    batch = requests(args.requests, args.seed)
    distinct = len(set(batch))
    print(f"Heimdall PDP: 200 users x 300 datasets, {args.requests} requests ({distinct} distinct)")
    cached, reference = run("regorus", 100_000, batch)
    uncached, answers = run("regorus", 0, batch)
    allowed = sum(d.allow for d in answers)
    print(f"  regorus PDP, cache       {cached:>10,.0f} decisions/s")
    print(f"  regorus PDP, no cache    {uncached:>10,.0f} decisions/s  ({allowed} allowed)")
    if answers != reference:
        raise SystemExit("regorus answers differ with and without the cache")
    if importlib.util.find_spec("opa_bindings") is None:
        print("  OPA 1.20.2 in-process    not installed: see requirements/opa-golib.txt")
        return
    opa, opa_answers = run("opa", 0, batch)
    if opa_answers != answers:
        differing = sum(a != b for a, b in zip(opa_answers, answers, strict=True))
        raise SystemExit(f"OPA and regorus disagree on {differing} decisions")
    print(f"  OPA 1.20.2, no cache     {opa:>10,.0f} decisions/s  (same {len(batch)} answers)")
    for label, rate in [("no cache", uncached), ("cache", cached)]:
        ratio = rate / opa
        verdict = "meets" if ratio >= GOAL else "misses"
        print(f"  ratio regorus ({label}) / OPA: {ratio:6.1f}x  ({verdict} the {GOAL:.0f}x goal)")


if __name__ == "__main__":
    main()
