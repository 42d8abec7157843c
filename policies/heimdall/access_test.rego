# Tests of access.rego, in the `opa test` convention (run by `dataos-ctl policy test` on
# regorus, and by tests/heimdall/test_policies.py on regorus and OPA). The data documents
# are written in the compiled form that dataos_defs/heimdall/policy_data.py produces.
package heimdall.access_test

import data.heimdall.access

group(exact, prefixes, regexes) := {
	"globs": array.concat(array.concat(exact, prefixes), regexes),
	"exact": exact,
	"prefixes": prefixes,
	"regexes": regexes,
}

tags(exact) := group(exact, [], [])

no_paths := tags([])

policy(name, allow, subjects, predicates, paths, object_tags) := {
	"name": name,
	"collection": "default",
	"allow": allow,
	"subjects": subjects,
	"predicates": predicates,
	"objects": {"paths": paths, "tags": object_tags},
}

retail := group([], ["dataos://lakehouse:retail/"], [])

policies := [
	policy("readers", true, [tags(["roles:id:user"])], ["read"], retail, []),
	policy("devs-and-alice", true, [tags(["roles:id:data-dev", "dataos:workspace:team-a"]), tags(["users:id:alice"])], ["**"], retail, []),
	policy("no-secrets", false, [group([], ["users:"], [])], ["**"], group(["dataos://lakehouse:retail/secrets"], [], []), []),
	policy("pii-readers", true, [tags(["roles:id:pii-reader"])], ["read"], no_paths, [tags(["PII.Email", "dataos:type:column"])]),
	policy("any-role-metis", true, [group([], [], ["(?s)^roles:id:[^:]*$"])], ["get"], group([], [], ["(?s)^/metis/api/v[12]/[^:/]*$"]), []),
]

index := {
	"subjects": {"roles:id:user": [0], "roles:id:data-dev": [1], "users:id:alice": [1], "roles:id:pii-reader": [3]},
	"unindexed": [2, 4],
}

request(subject_tags, predicate, path) := {
	"subject": {"id": "someone", "tags": subject_tags},
	"predicate": predicate,
	"object": {"path": path},
}

decide(request) := decision if {
	decision := access.decision with data.heimdall.policies as policies
		with data.heimdall.index as index
		with input as request
}

test_role_allows_read if {
	d := decide(request(["users:id:bob", "roles:id:user"], "read", "dataos://lakehouse:retail/orders"))
	d.allow == true
	d.policy == "readers"
	d.collection == "default"
	d.reason == "allowed by policy readers"
}

test_predicate_not_granted if {
	d := decide(request(["users:id:bob", "roles:id:user"], "write", "dataos://lakehouse:retail/orders"))
	d.allow == false
	d.policy == null
	d.reason == "no policy allows write on dataos://lakehouse:retail/orders"
}

test_and_group_needs_every_tag if {
	not decide(request(["users:id:carol", "roles:id:data-dev"], "write", "dataos://lakehouse:retail/orders")).allow
	decide(request(["users:id:carol", "roles:id:data-dev", "dataos:workspace:team-a"], "write", "dataos://lakehouse:retail/orders")).allow
}

test_or_of_groups if {
	d := decide(request(["users:id:alice"], "delete", "dataos://lakehouse:retail/orders"))
	d.allow == true
	d.policy == "devs-and-alice"
}

test_deny_beats_allow if {
	d := decide(request(["users:id:alice", "roles:id:user"], "read", "dataos://lakehouse:retail/secrets"))
	d.allow == false
	d.policy == "no-secrets"
	d.reason == "denied by policy no-secrets"
}

test_default_deny if {
	d := decide(request(["users:id:mallory"], "read", "dataos://lakehouse:retail/orders"))
	d.allow == false
	d.collection == null
}

test_object_tag_group if {
	allowed := {"subject": {"tags": ["roles:id:pii-reader"]}, "predicate": "read", "object": {"tags": ["dataos:type:column", "PII.Email"]}}
	decide(allowed).allow
	partial := {"subject": {"tags": ["roles:id:pii-reader"]}, "predicate": "read", "object": {"tags": ["PII.Email"]}}
	d := decide(partial)
	not d.allow
	d.reason == "no policy allows read on objects tagged [PII.Email]"
}

test_regex_globs if {
	decide(request(["roles:id:anything"], "get", "/metis/api/v2/datasets")).allow
	not decide(request(["roles:id:anything"], "get", "/metis/api/v3/datasets")).allow
	not decide(request(["roles:id:anything"], "get", "/metis/api/v1/datasets/orders")).allow
	not decide(request(["roles:x:anything"], "get", "/metis/api/v1/datasets")).allow
}

test_allow_without_decision_details if {
	access.allow with data.heimdall.policies as policies
		with data.heimdall.index as index
		with input as request(["roles:id:user"], "read", "dataos://lakehouse:retail/x")
	not access.allow with data.heimdall.policies as policies
		with data.heimdall.index as index
		with input as request(["roles:id:user"], "read", "dataos://lakehouse:sales/x")
}

test_without_index_every_policy_is_a_candidate if {
	d := access.decision with data.heimdall.policies as policies
		with input as request(["users:id:alice"], "read", "dataos://lakehouse:retail/orders")
	d.policy == "devs-and-alice"
}

test_no_policies_denies if {
	d := access.decision with data.heimdall.policies as []
		with data.heimdall.index as {"subjects": {}, "unindexed": []}
		with input as request(["roles:id:operator"], "read", "dataos://x")
	d.allow == false
}
