# Tests of trino.rego (opa test convention; run on regorus and OPA by
# tests/heimdall/test_trino.py). The data is written in the compiled form that
# dataos_defs/heimdall/policy_data.py and trino_data.py produce.
package trino_test

import data.trino

group(exact, prefixes) := {"globs": array.concat(exact, prefixes), "exact": exact, "prefixes": prefixes, "regexes": []}

policy(name, allow, role, predicates, paths) := {
	"name": name,
	"collection": "default",
	"allow": allow,
	"subjects": [group([role], [])],
	"predicates": predicates,
	"objects": {"paths": paths, "tags": []},
}

exact(value) := {"glob": value, "kind": "exact", "value": value}

everything := {"glob": "**", "kind": "prefix", "value": ""}

policies := [
	policy("readers", true, "roles:id:user", ["read"], group([], ["dataos://lakehouse:retail/", "dataos://lakehouse:hr/"])),
	policy("writers", true, "roles:id:data-dev", ["read", "write", "create", "delete"], group([], ["dataos://lakehouse:"])),
	policy("no-hr", false, "roles:id:intern", ["read"], group([], ["dataos://lakehouse:hr/"])),
	policy("no-pii", false, "roles:id:user", ["read"], group(["dataos://lakehouse:retail/customers/email"], [])),
]

reach := {
	"readers": [
		{"catalog": exact("lakehouse"), "schema": exact("retail"), "covers": true},
		{"catalog": exact("lakehouse"), "schema": exact("hr"), "covers": true},
	],
	"writers": [{"catalog": exact("lakehouse"), "schema": everything, "covers": true}],
	"no-hr": [{"catalog": exact("lakehouse"), "schema": exact("hr"), "covers": true}],
	"no-pii": [{"catalog": exact("lakehouse"), "schema": exact("retail"), "covers": false}],
}

identities := {"alice": ["roles:id:user"], "carol": ["roles:id:data-dev"], "ivan": ["roles:id:user", "roles:id:intern"]}

request(user, operation, action) := {
	"context": {"identity": {"user": user, "groups": ["staff"]}, "softwareStack": {"trinoVersion": "476"}},
	"action": object.union({"operation": operation}, action),
}

table(schema, name, columns) := {"table": {"catalogName": "lakehouse", "schemaName": schema, "tableName": name, "columns": columns}}

allowed(user, operation, action) if {
	trino.allow with input as request(user, operation, action)
		with data.heimdall.policies as policies
		with data.heimdall.trino.reach as reach
		with data.heimdall.identities as identities
}

batch(user, operation, resources) := indices if {
	indices := trino.batch with input as request(user, operation, {"filterResources": resources})
		with data.heimdall.policies as policies
		with data.heimdall.trino.reach as reach
		with data.heimdall.identities as identities
}

test_subject_tags_from_identities_user_and_groups if {
	tags := trino.subject_tags with input as request("alice", "ExecuteQuery", {})
		with data.heimdall.identities as identities
	tags == {"roles:id:user", "users:id:alice", "roles:id:staff"}
}

test_select_is_read if {
	allowed("alice", "SelectFromColumns", {"resource": table("retail", "orders", ["id"])})
	not allowed("alice", "SelectFromColumns", {"resource": table("sales", "orders", ["id"])})
	not allowed("mallory", "SelectFromColumns", {"resource": table("retail", "orders", ["id"])})
}

test_a_denied_column_denies_the_select if {
	not allowed("alice", "SelectFromColumns", {"resource": table("retail", "customers", ["id", "email"])})
	allowed("alice", "SelectFromColumns", {"resource": table("retail", "customers", ["id"])})
}

test_writes_need_write_predicates if {
	not allowed("alice", "InsertIntoTable", {"resource": table("retail", "orders", [])})
	allowed("carol", "InsertIntoTable", {"resource": table("retail", "orders", [])})
	allowed("carol", "DropTable", {"resource": table("retail", "orders", [])})
	allowed("carol", "CreateSchema", {"resource": {"schema": {"catalogName": "lakehouse", "schemaName": "x"}}})
	not allowed("alice", "UpdateTableColumns", {"resource": table("retail", "orders", ["id"])})
}

test_rename_needs_delete_and_create if {
	move := {"resource": table("retail", "a", []), "targetResource": table("retail", "b", [])}
	allowed("carol", "RenameTable", move)
	not allowed("alice", "RenameTable", move)
}

test_unknown_operations_are_denied if {
	not allowed("carol", "FrobnicateTable", {"resource": table("retail", "orders", [])})
	not allowed("carol", "GrantTablePrivilege", {"resource": table("retail", "orders", [])})
	not allowed("carol", "ReadSystemInformation", {})
}

test_execute_query_needs_a_read_grant_somewhere if {
	allowed("alice", "ExecuteQuery", {})
	not allowed("mallory", "ExecuteQuery", {})
}

test_catalogs_visible_through_reach if {
	catalogs := [{"catalog": {"name": "lakehouse"}}, {"catalog": {"name": "pg"}}, {"catalog": {"name": "system"}}]
	batch("alice", "FilterCatalogs", catalogs) == {0, 2}
	batch("mallory", "FilterCatalogs", catalogs) == set()
}

test_a_covering_deny_hides_a_schema if {
	schemas := [
		{"schema": {"catalogName": "lakehouse", "schemaName": "retail"}},
		{"schema": {"catalogName": "lakehouse", "schemaName": "hr"}},
		{"schema": {"catalogName": "lakehouse", "schemaName": "information_schema"}},
	]
	batch("alice", "FilterSchemas", schemas) == {0, 1, 2}
	batch("ivan", "FilterSchemas", schemas) == {0, 2}
}

test_filter_columns_indexes_columns if {
	batch("alice", "FilterColumns", [table("retail", "customers", ["id", "email", "name"])]) == {0, 2}
	batch("alice", "FilterColumns", [table("sales", "customers", ["id"])]) == set()
}

test_filter_tables if {
	tables := [table("retail", "orders", []), table("sales", "orders", []), table("hr", "people", [])]
	batch("alice", "FilterTables", tables) == {0, 2}
	batch("ivan", "FilterTables", tables) == {0}
}

test_users_see_their_own_queries if {
	allowed("alice", "ViewQueryOwnedBy", {"resource": {"user": {"user": "alice", "groups": []}}})
	not allowed("alice", "KillQueryOwnedBy", {"resource": {"user": {"user": "carol", "groups": []}}})
}

test_only_the_gateway_principal_impersonates_callers if {
	impersonate := {"resource": {"user": {"user": "alice"}}}
	trino.allow with input as request("dataos-gateway", "ImpersonateUser", impersonate)
		with data.heimdall.trino.impersonators as ["dataos-gateway"]
	not trino.allow with input as request("alice", "ImpersonateUser", {"resource": {"user": {"user": "carol"}}})
		with data.heimdall.trino.impersonators as ["dataos-gateway"]
	not trino.allow with input as request("dataos-gateway", "ImpersonateUser", impersonate)
		with data.heimdall.trino.impersonators as []
}
