# DataOS data policies (DATAOS_CONTRACT §4) as Trino row filters and column masks.
#
# data.heimdall.trino.filters / .masks are compiled by dataos_defs/heimdall/trino_data.py,
# which also renders their SQL; here a policy is matched to the table or column and user:
#   scope     {"depot", "collection", "dataset"}: patterns over catalog, schema, table
#   users     {"match": "any" | "all", "tags": [pattern]} over the user's tags
#   columns   {"names": [lower-case name], "tags": [pattern]} (masks): a column is
#             selected by its name or by one of its tags (data.heimdall.column_tags)
# A pattern is {"glob", "kind": exact | prefix | regex, "value"} (see policy_data.py).
#
# rowFilters: one {"expression"} per filter policy selecting the user; Trino ANDs them,
# so a user selected by several filter policies keeps the rows all of them keep.
# columnMask / batchColumnMasks: of the mask policies applying to the column and user,
# the lowest priority number wins (ties: the first by name); a winning pass_through
# means no mask. The mask's SQL depends on the column's type (columnType, as Trino
# displays it): each mask has templates per type family (text, number, date, timestamp),
# cast back to the column's type where the template's type differs; a family without a
# template (an operator on a type it does not apply to, e.g. hash on a number) gets
# CAST(NULL AS <type>) (a bare NULL when the type name is not a simple one).
#
# Statements the Gateway sends are masked and filtered already: the Gateway rewrites every
# dataset into a masked, filtered subquery with these same expressions
# (dataos_defs/gateway/trino_masks.py) and runs the statement as its caller, impersonated
# by its own principal. Masking them again would hash a hash, so no mask and no row
# filter is given for a statement whose authenticated principal (context.identity.principal,
# set by Trino from authentication, never by the client) is one of the Gateway's
# (data.heimdall.trino.impersonators) acting as another user. Every other statement is
# masked and filtered, and so is every statement when the plugin sends no principal.
package trino

default masks := []

masks := data.heimdall.trino.masks

default filters := []

filters := data.heimdall.trino.filters

in_scope(scope, table) if {
	matches(scope.depot, table.catalogName)
	matches(scope.collection, table.schemaName)
	matches(scope.dataset, table.tableName)
}

user_selected(users) if {
	users.match == "any"
	some pattern in users.tags
	some tag in subject_tags
	matches(pattern, tag)
}

user_selected(users) if {
	users.match == "all"
	every pattern in users.tags {
		some tag in subject_tags
		matches(pattern, tag)
	}
}

column_selected(columns, column) if {
	lower(column.columnName) in columns.names
}

column_selected(columns, column) if {
	some pattern in columns.tags
	some tag in column_tags(column, column.columnName)
	matches(pattern, tag)
}

governed_by_gateway if {
	principal := input.context.identity.principal
	principal != user
	principal in object.get(data.heimdall.trino, "impersonators", [])
}

rowFilters contains {"expression": policy.expression} if {
	not governed_by_gateway
	table := input.action.resource.table
	some policy in filters
	in_scope(policy.scope, table)
	user_selected(policy.users)
}

# Caretaker's run history (the system catalog `caretaker`): a reader who is not an operator
# keeps the runs they own, as the Gateway's own-runs filter does on its statements
# (dataos_defs/caretaker/history_governance.py).
rowFilters contains {"expression": sprintf("\"run_as\" = '%s'", [replace(user, "'", "''")])} if {
	not governed_by_gateway
	input.action.resource.table.catalogName == "caretaker"
	not "roles:id:operator" in subject_tags
}

winning_mask(column) := masks[ranked[0][2]] if {
	ranked := sort([[mask.priority, mask.name, index] |
		some index, mask in masks
		in_scope(mask.scope, column)
		user_selected(mask.users)
		column_selected(mask.columns, column)
	])
	count(ranked) > 0
}

mask_expression(column) := expression if {
	not governed_by_gateway
	mask := winning_mask(column)
	mask.operator != "pass_through"
	column_type := lower(object.get(column, "columnType", ""))
	expression := render(mask, column.columnName, column_type)
}

columnMask := {"expression": mask_expression(input.action.resource.column)}

batchColumnMasks contains {"index": index, "viewExpression": {"expression": expression}} if {
	some index, resource in input.action.filterResources
	expression := mask_expression(resource.column)
}

quoted(name) := concat("", [`"`, replace(name, `"`, `""`), `"`])

type_family(column_type) := "text" if {
	regex.match(`^(var)?char(\([0-9]+\))?$`, column_type)
} else := "number" if {
	regex.match(`^(tinyint|smallint|integer|bigint|real|double|decimal\([0-9]+, ?[0-9]+\))$`, column_type)
} else := "date" if {
	column_type == "date"
} else := "timestamp" if {
	regex.match(`^timestamp(\([0-9]+\))?( with time zone)?$`, column_type)
} else := "other"

render(mask, name, column_type) := cast_back(sql, template.returns, column_type) if {
	template := mask.templates[type_family(column_type)]
	sql := concat(quoted(name), template.parts)
} else := null_of(column_type)

cast_back(sql, returns, column_type) := sql if {
	returns in {"column", column_type}
} else := sprintf("CAST(%s AS %s)", [sql, column_type])

null_of(column_type) := sprintf("CAST(NULL AS %s)", [column_type]) if {
	regex.match(`^[a-z][a-z0-9_]*( ?\([0-9, ]+\))?( with(out)? time zone)?$`, column_type)
} else := "NULL"
