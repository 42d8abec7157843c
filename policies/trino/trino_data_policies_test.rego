# Tests of trino_data_policies.rego: row filters and column masks from compiled data policies
# (the form dataos_defs/heimdall/trino_data.py produces).
package trino_data_policies_test

import data.trino

exact(value) := {"glob": value, "kind": "exact", "value": value}

everywhere := {
	"depot": {"glob": "**", "kind": "prefix", "value": ""},
	"collection": {"glob": "**", "kind": "prefix", "value": ""},
	"dataset": {"glob": "**", "kind": "prefix", "value": ""},
}

customers := {"depot": exact("lakehouse"), "collection": exact("retail"), "dataset": exact("customers")}

users(match, tags) := {"match": match, "tags": [exact(tag) | some tag in tags]}

hashed := {"text": {"parts": ["lower(to_hex(sha256(to_utf8(CAST(", " AS varchar)))))"], "returns": "varchar"}}

mask(name, priority, scope, selected, names, tags, operator, templates) := {
	"name": name,
	"priority": priority,
	"scope": scope,
	"users": selected,
	"columns": {"names": names, "tags": [exact(tag) | some tag in tags]},
	"operator": operator,
	"templates": templates,
}

masks := [
	mask("email-hash", 50, customers, users("any", ["roles:id:user"]), ["email"], [], "hash", hashed),
	mask("email-clear", 10, customers, users("any", ["roles:id:pii-reader"]), ["email"], [], "pass_through", {}),
	mask("phones", 99, everywhere, users("any", ["roles:id:user"]), [], ["PII.Phone"], "redact", {"text": {"parts": ["'REDACTED'"], "returns": "varchar"}}),
	mask("years", 99, everywhere, users("all", ["roles:id:user", "roles:id:intern"]), ["born"], [], "bucket_date", {"date": {"parts": ["date_trunc('year', ", ")"], "returns": "column"}}),
]

filters := [
	{"name": "eu", "scope": customers, "users": users("any", ["roles:id:user"]), "expression": "\"region\" = 'EU'"},
	{"name": "open", "scope": everywhere, "users": users("any", ["roles:id:pii-reader"]), "expression": "\"open\" = TRUE"},
]

identities := {"alice": ["roles:id:user"], "bob": ["roles:id:user", "roles:id:pii-reader"], "ivan": ["roles:id:user", "roles:id:intern"]}

column_tags := {"lakehouse.retail.customers": {"phone": ["PII.Phone"]}}

column(name, type) := {"column": {
	"catalogName": "lakehouse", "schemaName": "retail", "tableName": "customers",
	"columnName": name, "columnType": type,
}}

request(user, action) := {"context": {"identity": {"user": user, "groups": []}}, "action": action}

mask_of(user, name, type) := answer if {
	answer := trino.columnMask with input as request(user, {"operation": "GetColumnMask", "resource": column(name, type)})
		with data.heimdall.trino.masks as masks
		with data.heimdall.identities as identities
		with data.heimdall.column_tags as column_tags
}

test_mask_applies if {
	mask_of("alice", "email", "varchar") == {"expression": `lower(to_hex(sha256(to_utf8(CAST("email" AS varchar)))))`}
}

test_lowest_priority_number_wins_and_pass_through_means_no_mask if {
	not mask_of("bob", "email", "varchar")
}

test_text_masks_are_cast_back_to_bounded_types if {
	mask_of("alice", "phone", "varchar(4)") == {"expression": "CAST('REDACTED' AS varchar(4))"}
}

test_operator_on_a_type_it_does_not_apply_to_gives_null if {
	mask_of("alice", "phone", "integer") == {"expression": "CAST(NULL AS integer)"}
	mask_of("alice", "phone", "map(varchar, integer)") == {"expression": "NULL"}
}

test_match_all_needs_every_tag if {
	mask_of("ivan", "born", "date") == {"expression": `date_trunc('year', "born")`}
	not mask_of("alice", "born", "date")
}

test_identifiers_are_quoted if {
	trino.render(masks[0], `we"ird`, "varchar") == `lower(to_hex(sha256(to_utf8(CAST("we""ird" AS varchar)))))`
}

test_type_families if {
	trino.type_family("varchar") == "text"
	trino.type_family("char(3)") == "text"
	trino.type_family("decimal(12,2)") == "number"
	trino.type_family("bigint") == "number"
	trino.type_family("date") == "date"
	trino.type_family("timestamp(6) with time zone") == "timestamp"
	trino.type_family("boolean") == "other"
}

test_batch_column_masks if {
	resources := [column("id", "bigint"), column("email", "varchar"), column("phone", "varchar")]
	answer := trino.batchColumnMasks with input as request("bob", {"operation": "GetColumnMask", "filterResources": resources})
		with data.heimdall.trino.masks as masks
		with data.heimdall.identities as identities
		with data.heimdall.column_tags as column_tags
	answer == {{"index": 2, "viewExpression": {"expression": "'REDACTED'"}}}
}

row_filters(user, table) := answer if {
	action := {"operation": "GetRowFilters", "resource": {"table": {"catalogName": "lakehouse", "schemaName": "retail", "tableName": table}}}
	answer := trino.rowFilters with input as request(user, action)
		with data.heimdall.trino.filters as filters
		with data.heimdall.identities as identities
}

test_row_filters_of_every_selecting_policy if {
	row_filters("alice", "customers") == {{"expression": "\"region\" = 'EU'"}}
	row_filters("bob", "customers") == {{"expression": "\"region\" = 'EU'"}, {"expression": "\"open\" = TRUE"}}
	row_filters("alice", "orders") == set()
	row_filters("mallory", "customers") == set()
}

# Statements the Gateway sends as its caller are masked and filtered by the Gateway already.
impersonated(user, principal, action) := {
	"context": {"identity": {"user": user, "principal": principal, "groups": []}},
	"action": action,
}

gateway_data := {"impersonators": ["dataos-gateway"], "masks": masks, "filters": filters}

# The Gateway's own account holds tags here so that its masks, when they apply, show.
gateway_identities := object.union(identities, {"dataos-gateway": ["roles:id:user"]})

masks_as(user, principal) := answer if {
	resources := [column("email", "varchar"), column("phone", "varchar")]
	action := {"operation": "GetColumnMask", "filterResources": resources}
	answer := trino.batchColumnMasks with input as impersonated(user, principal, action)
		with data.heimdall.trino as gateway_data
		with data.heimdall.identities as gateway_identities
		with data.heimdall.column_tags as column_tags
}

filters_as(user, principal) := answer if {
	action := {"operation": "GetRowFilters", "resource": {"table": {"catalogName": "lakehouse", "schemaName": "retail", "tableName": "customers"}}}
	answer := trino.rowFilters with input as impersonated(user, principal, action)
		with data.heimdall.trino as gateway_data
		with data.heimdall.identities as gateway_identities
}

single_mask_as(user, principal) := answer if {
	action := {"operation": "GetColumnMask", "resource": column("email", "varchar")}
	answer := trino.columnMask with input as impersonated(user, principal, action)
		with data.heimdall.trino as gateway_data
		with data.heimdall.identities as gateway_identities
		with data.heimdall.column_tags as column_tags
}

test_the_gateways_impersonated_statements_are_not_masked_twice if {
	masks_as("alice", "dataos-gateway") == set()
	filters_as("alice", "dataos-gateway") == set()
	not single_mask_as("alice", "dataos-gateway")
}

test_a_direct_client_is_masked_and_filtered if {
	count(masks_as("alice", "alice")) == 2
	filters_as("alice", "alice") == {{"expression": "\"region\" = 'EU'"}}
	single_mask_as("alice", "alice") == {"expression": `lower(to_hex(sha256(to_utf8(CAST("email" AS varchar)))))`}
}

test_another_impersonating_principal_is_masked_and_filtered if {
	count(masks_as("alice", "etl-service")) == 2
	filters_as("alice", "etl-service") == {{"expression": "\"region\" = 'EU'"}}
}

test_the_gateway_acting_as_itself_is_governed_as_itself if {
	count(masks_as("dataos-gateway", "dataos-gateway")) == 2
	filters_as("dataos-gateway", "dataos-gateway") == {{"expression": "\"region\" = 'EU'"}}
}

test_without_a_principal_in_the_input_masks_and_filters_apply if {
	mask_of("alice", "email", "varchar") == {"expression": `lower(to_hex(sha256(to_utf8(CAST("email" AS varchar)))))`}
	row_filters("alice", "customers") == {{"expression": "\"region\" = 'EU'"}}
}

history_filters(user, principal) := answer if {
	action := {"operation": "GetRowFilters", "resource": {"table": {"catalogName": "caretaker", "schemaName": "runs", "tableName": "steps"}}}
	answer := trino.rowFilters with input as impersonated(user, principal, action)
		with data.heimdall.trino as gateway_data
		with data.heimdall.identities as history_identities
}

history_identities := object.union(gateway_identities, {"root": ["roles:id:operator"]})

test_a_direct_client_of_the_history_keeps_their_own_runs if {
	history_filters("alice", "alice") == {{"expression": "\"run_as\" = 'alice'"}}
	history_filters("o'brien", "o'brien") == {{"expression": "\"run_as\" = 'o''brien'"}}
	history_filters("root", "root") == set()
	history_filters("alice", "dataos-gateway") == set()
}
