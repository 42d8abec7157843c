# Trino's OPA access-control plugin (access-control.name=opa) answered from DataOS access
# policies: the same decisions as data.heimdall.access, asked with Trino's objects.
#
# Plugin configuration (each URI is POSTed {"input": ...} and reads {"result": ...}):
#   opa.policy.uri                      .../v1/data/trino/allow             true | false
#   opa.policy.batched-uri              .../v1/data/trino/batch             [index, ...]
#   opa.policy.row-filters-uri          .../v1/data/trino/rowFilters        [{"expression"}]
#   opa.policy.column-masking-uri       .../v1/data/trino/columnMask        {"expression"}
#   opa.policy.batch-column-masking-uri .../v1/data/trino/batchColumnMasks
#                                           [{"index", "viewExpression": {"expression"}}]
# (the last three in trino_data_policies.rego).
#
# input: {"context": {"identity": {"user", "groups"}, "softwareStack"},
#         "action": {"operation", "resource", "targetResource", "filterResources"}}
#
# Who: the Trino user is the DataOS user id. Its tags are data.heimdall.identities[user]
# plus users:id:<user> and roles:id:<group> for each Trino group.
# What: catalog = depot, schema = collection, table = dataset; a table is the object
# dataos://<catalog>:<schema>/<table>, a schema dataos://<catalog>:<schema>, a catalog
# dataos://<catalog>, a column dataos://<catalog>:<schema>/<table>/<column> carrying the
# column's tags (data.heimdall.column_tags) and dataos:type:column.
# Decision: data.heimdall.access with a constructed input (deny beats allow, default deny).
# An operation maps to a list of predicates (see table_predicates): it is allowed when one
# of them is allowed and none of them is explicitly denied. Reading columns also needs
# every requested column not to be denied. Operations not listed are denied.
#
# Visibility (AccessCatalog, FilterCatalogs, ShowSchemas on a catalog; FilterSchemas,
# ShowTables, ShowCreateSchema, ShowFunctions on a schema; ExecuteQuery) has no single
# object to ask about: a catalog (schema) is visible when a policy granting the user read
# or select reaches datasets under it (data.heimdall.trino.reach, compiled from the
# policy's path globs by dataos_defs/heimdall/trino_data.py) and no policy denying read or
# select covers all of it. ExecuteQuery needs some such grant anywhere. Tag-only grants
# reach no catalog: dataset tags are not known here. Each catalog's information_schema,
# and system.jdbc / system.information_schema (for JDBC clients), are readable by whoever
# sees the catalog; Trino filters their rows through FilterTables and FilterColumns.
#
# Keep this file the first module of package trino to load (trino.rego sorts before
# trino_*.rego): with another module of the package loaded before it, regorus 0.13 answers
# undefined for the rules reached through a nested `with input` while an outer `with
# input` is in force, as in the _test.rego files (real requests are not affected).
package trino

import data.heimdall.access

default allow := false

user := input.context.identity.user

# Compiled data (dataos_defs/heimdall/trino_data.py); read by path, never as the whole of
# data.heimdall, which would evaluate every rule of data.heimdall.access.
subject_tags contains tag if {
	some tag in data.heimdall.identities[user]
}

subject_tags contains sprintf("users:id:%s", [user])

subject_tags contains sprintf("roles:id:%s", [group]) if {
	some group in object.get(input.context.identity, "groups", [])
}

subject := {"id": user, "tags": [tag | some tag in subject_tags]}

default reach := {}

reach := data.heimdall.trino.reach

default column_tag_map := {}

column_tag_map := data.heimdall.column_tags

read_predicates := ["read", "select"]

alter_predicates := ["update", "write"]

table_predicates := {
	"SelectFromColumns": read_predicates,
	"ShowColumns": read_predicates,
	"FilterColumns": read_predicates,
	"FilterTables": read_predicates,
	"ShowCreateTable": read_predicates,
	"CreateViewWithSelectFromColumns": read_predicates,
	"InsertIntoTable": ["write"],
	"DeleteFromTable": ["delete", "write"],
	"TruncateTable": ["delete", "write"],
	"UpdateTableColumns": alter_predicates,
	"CreateTable": ["create", "write"],
	"CreateView": ["create", "write"],
	"CreateMaterializedView": ["create", "write"],
	"DropTable": ["delete"],
	"DropView": ["delete"],
	"DropMaterializedView": ["delete"],
	"AddColumn": alter_predicates,
	"AlterColumn": alter_predicates,
	"DropColumn": alter_predicates,
	"RenameColumn": alter_predicates,
	"SetTableProperties": alter_predicates,
	"SetTableComment": alter_predicates,
	"SetViewComment": alter_predicates,
	"SetColumnComment": alter_predicates,
	"SetMaterializedViewProperties": alter_predicates,
	"RefreshMaterializedView": alter_predicates,
	"ExecuteTableProcedure": alter_predicates,
}

schema_predicates := {"CreateSchema": ["create"], "DropSchema": ["delete"]}

catalog_predicates := {"CreateCatalog": ["create"], "DropCatalog": ["delete"]}

catalog_visibility := {"AccessCatalog", "FilterCatalogs", "ShowSchemas"}

schema_visibility := {"FilterSchemas", "ShowTables", "ShowCreateSchema", "ShowFunctions"}

own_queries := {"ViewQueryOwnedBy", "FilterViewQueryOwnedBy", "KillQueryOwnedBy"}

renames := {"RenameTable", "RenameView", "RenameMaterializedView"}

dataset_path(table) := sprintf("dataos://%s:%s/%s", [table.catalogName, table.schemaName, table.tableName])

collection_path(schema) := sprintf("dataos://%s:%s", [schema.catalogName, schema.schemaName])

dataset_key(table) := concat(".", [table.catalogName, table.schemaName, table.tableName])

column_tags(table, column) := object.get(object.get(column_tag_map, dataset_key(table), {}), lower(column), [])

access_input(predicate, path, tags) := {
	"subject": subject,
	"predicate": predicate,
	"object": {"path": path, "tags": tags},
}

# One of the predicates is allowed on the object and none is denied. Each `with` applies
# to a whole expression whose result no later statement reads: regorus mis-schedules a
# body where a variable bound under `with` is used by the next statement.
permits(predicates, path, tags) if {
	some predicate in predicates
	request := access_input(predicate, path, tags)
	access.allow with input as request
	not denies(predicates, path, tags)
}

denies(predicates, path, tags) if {
	some predicate in predicates
	request := access_input(predicate, path, tags)
	count(access.denials) > 0 with input as request
}

column_denied(predicates, table, column) if {
	tags := array.concat(column_tags(table, column), ["dataos:type:column"])
	denies(predicates, concat("/", [dataset_path(table), column]), tags)
}

table_permitted(predicates, table) if {
	permits(predicates, dataset_path(table), [])
	every column in object.get(table, "columns", []) {
		not column_denied(predicates, table, column)
	}
}

# Names of the access policies that allow (read_grants) or deny (read_denials) the user
# read or select on some object, whatever the object.
read_grants contains name if {
	some index in read_matching
	policy := data.heimdall.policies[index]
	object.get(policy, "allow", false) == true
	name := policy.name
}

read_denials contains name if {
	some index in read_matching
	policy := data.heimdall.policies[index]
	object.get(policy, "allow", false) != true
	name := policy.name
}

read_matching contains index if {
	some predicate in read_predicates
	request := {"subject": subject, "predicate": predicate}
	access.subject_matching[index] with input as request
}

matches(pattern, value) if {
	pattern.kind == "exact"
	value == pattern.value
}

matches(pattern, value) if {
	pattern.kind == "prefix"
	startswith(value, pattern.value)
}

matches(pattern, value) if {
	pattern.kind == "regex"
	regex.match(pattern.value, value)
}

readable_somewhere if {
	some name in read_grants
	count(object.get(reach, name, [])) > 0
}

catalog_visible(catalog) if {
	some name in read_grants
	some entry in object.get(reach, name, [])
	matches(entry.catalog, catalog)
	not catalog_hidden(catalog)
}

catalog_visible(catalog) if {
	catalog == "system"
	readable_somewhere
}

catalog_hidden(catalog) if {
	some name in read_denials
	some entry in object.get(reach, name, [])
	entry.covers
	entry.schema == {"glob": "**", "kind": "prefix", "value": ""}
	matches(entry.catalog, catalog)
}

schema_visible(catalog, schema) if {
	some name in read_grants
	some entry in object.get(reach, name, [])
	matches(entry.catalog, catalog)
	matches(entry.schema, schema)
	not schema_hidden(catalog, schema)
}

schema_visible(catalog, schema) if {
	metadata_schema(catalog, schema)
}

schema_hidden(catalog, schema) if {
	some name in read_denials
	some entry in object.get(reach, name, [])
	entry.covers
	matches(entry.catalog, catalog)
	matches(entry.schema, schema)
}

metadata_schema(catalog, schema) if {
	schema == "information_schema"
	catalog_visible(catalog)
}

metadata_schema(catalog, schema) if {
	catalog == "system"
	schema == "jdbc"
	readable_somewhere
}

# Whether `operation` is allowed on `resource` (action.resource, or one of
# action.filterResources in batch mode).
resource_allowed(operation, resource) if {
	table_permitted(table_predicates[operation], resource.table)
}

resource_allowed(operation, resource) if {
	table_predicates[operation] == read_predicates
	metadata_schema(resource.table.catalogName, resource.table.schemaName)
}

resource_allowed(operation, resource) if {
	operation in catalog_visibility
	catalog_visible(resource.catalog.name)
}

resource_allowed(operation, resource) if {
	operation in schema_visibility
	schema_visible(resource.schema.catalogName, resource.schema.schemaName)
}

resource_allowed(operation, resource) if {
	permits(schema_predicates[operation], collection_path(resource.schema), [])
}

resource_allowed(operation, resource) if {
	permits(catalog_predicates[operation], sprintf("dataos://%s", [resource.catalog.name]), [])
}

resource_allowed(operation, resource) if {
	operation in own_queries
	resource.user.user == user
}

allow if {
	resource_allowed(input.action.operation, object.get(input.action, "resource", {}))
}

allow if {
	input.action.operation == "ExecuteQuery"
	readable_somewhere
}

# The Gateway authenticates to Trino as its service account and runs each statement as its
# caller (impersonation), so that the caller's own access applies, never the service
# account's; the statement carries the caller's masks and row filters already, so
# trino_data_policies.rego does not apply them again to these principals' statements.
# Only the principals Heimdall names may impersonate anyone.
allow if {
	input.action.operation == "ImpersonateUser"
	user in object.get(data.heimdall.trino, "impersonators", [])
}

allow if {
	input.action.operation in renames
	permits(["delete"], dataset_path(input.action.resource.table), [])
	permits(table_predicates.CreateTable, dataset_path(input.action.targetResource.table), [])
}

allow if {
	input.action.operation == "RenameSchema"
	permits(["delete"], collection_path(input.action.resource.schema), [])
	permits(["create"], collection_path(input.action.targetResource.schema), [])
}

# Indices of the allowed action.filterResources. FilterColumns sends one table whose
# columns are the items: the indices are those of the readable columns.
batch contains index if {
	input.action.operation != "FilterColumns"
	some index, resource in input.action.filterResources
	resource_allowed(input.action.operation, resource)
}

batch contains index if {
	input.action.operation == "FilterColumns"
	[resource] := input.action.filterResources
	table := resource.table
	readable_table(table)
	some index, column in table.columns
	not column_denied(read_predicates, table, column)
}

readable_table(table) if permits(read_predicates, dataset_path(table), [])

readable_table(table) if metadata_schema(table.catalogName, table.schemaName)
