# Heimdall access decisions: DataOS access policies (subject, predicate, object) over tags
# and globs. Rego v1; evaluated by regorus (embedded) and by OPA 1.20 alike.
#
# input:
#   {"subject": {"id": "alice", "tags": ["users:id:alice", "roles:id:user", ...]},
#    "predicate": "read",
#    "object": {"path": "dataos://lakehouse:retail/orders", "tags": ["PII.Email", ...]}}
#   object.path and object.tags are each optional; a missing path is the empty string.
#
# data.heimdall, compiled by dataos_defs/heimdall/policy_data.py (system policies included):
#   policies: [{"name", "collection", "allow": bool, "predicates": ["read", "**", ...],
#               "subjects": [group, ...],                    OR of AND-groups of tag globs
#               "objects": {"paths": group, "tags": [group, ...]}}]
#     group = {"globs": [...], "exact": [...], "prefixes": [...], "regexes": [...]}: each
#     glob of "globs" appears, translated, in exactly one of the three other lists.
#   index: {"subjects": {tag: [policy index, ...]}, "unindexed": [policy index, ...]}
#     a policy is listed under one exact tag of each of its subject groups, or is unindexed;
#     only listed policies can match a subject, so only they are checked (without an
#     index, as in hand-written test data, every policy is checked).
#
# Globs are translated by the compiler into forms both engines agree on: exact strings,
# literal prefixes (a glob ending in a single trailing "**"), or anchored RE2 regexes.
# Level separators: ":" in tags, ":" and "/" in object paths; "?" and "*" never cross them,
# "**" does; "[!a-c]" excludes them too (details and examples in policy_data.py).
#
# A policy matches when its predicates hold the input predicate (or "**"), all globs of
# some subject group match tags of the subject, and the object path matches one of the
# path globs or all globs of some object tag group match tags of the object.
# Decision: allowed iff some matching policy allows and no matching policy denies (an
# explicit deny beats any allow); nothing matching means deny. Function calls are avoided
# on the hot path: they cost an order of magnitude more than inline expressions in regorus.
package heimdall.access

default allow := false

default policies := []

policies := data.heimdall.policies

subject_tags := {tag | some tag in input.subject.tags}

object_tags := {tag | some tag in object.get(input.object, "tags", [])}

object_path := object.get(input.object, "path", "")

candidates contains index if {
	some tag in subject_tags
	some index in data.heimdall.index.subjects[tag]
}

candidates contains index if {
	some index in data.heimdall.index.unindexed
}

candidates contains index if {
	not data.heimdall.index
	some index, _ in policies
}

# Candidates whose predicate and subject match.
subject_matching contains index if {
	some index in candidates
	policy := policies[index]
	some predicate in [input.predicate, "**"]
	predicate in policy.predicates
	some group in policy.subjects
	every tag in group.exact {
		tag in subject_tags
	}
	every prefix in group.prefixes {
		some tag in subject_tags
		startswith(tag, prefix)
	}
	every pattern in group.regexes {
		some tag in subject_tags
		regex.match(pattern, tag)
	}
}

matching contains index if {
	some index in subject_matching
	object_path in policies[index].objects.paths.exact
}

matching contains index if {
	some index in subject_matching
	some prefix in policies[index].objects.paths.prefixes
	startswith(object_path, prefix)
}

matching contains index if {
	some index in subject_matching
	some pattern in policies[index].objects.paths.regexes
	regex.match(pattern, object_path)
}

matching contains index if {
	some index in subject_matching
	some group in policies[index].objects.tags
	every tag in group.exact {
		tag in object_tags
	}
	every prefix in group.prefixes {
		some tag in object_tags
		startswith(tag, prefix)
	}
	every pattern in group.regexes {
		some tag in object_tags
		regex.match(pattern, tag)
	}
}

# [name, index] of each matching policy that denies; anything but an explicit
# `allow: true` counts as a deny: fail closed.
denials contains [policies[index].name, index] if {
	some index in matching
	object.get(policies[index], "allow", false) != true
}

# [name, index] of each matching policy that allows.
grants contains [policies[index].name, index] if {
	some index in matching
	policies[index].allow == true
}

allow if {
	count(grants) > 0
	count(denials) == 0
}

object_label := object_path if object_path != "" else := sprintf("objects tagged [%s]", [concat(", ", sort(object_tags))])

# The deciding policy is the first by name among the denials, else among the grants.
decision := {
	"allow": false,
	"reason": sprintf("denied by policy %s", [first[0]]),
	"policy": first[0],
	"collection": policies[first[1]].collection,
} if {
	count(denials) > 0
	first := sort(denials)[0]
} else := {
	"allow": true,
	"reason": sprintf("allowed by policy %s", [first[0]]),
	"policy": first[0],
	"collection": policies[first[1]].collection,
} if {
	count(grants) > 0
	first := sort(grants)[0]
} else := {
	"allow": false,
	"reason": sprintf("no policy allows %s on %s", [input.predicate, object_label]),
	"policy": null,
	"collection": null,
}

# Many decisions for one subject in one evaluation (apply-time checks of a workflow's
# datasets): input {"subject": {...}, "requests": [{"predicate", "object"}, ...]}; the
# answer lists one decision per request, in order, each exactly as `decision` answers it.
batch := [answer |
	some request in input.requests
	answer := decision with input as {
		"subject": input.subject,
		"predicate": request.predicate,
		"object": request.object,
	}
]
