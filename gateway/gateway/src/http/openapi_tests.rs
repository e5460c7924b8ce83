//! The OpenAPI document, built from the router's own handlers, tells a
//! client the shape of every answer: each operation declares a successful
//! answer; every 2xx answer but 204 declares its content type; every JSON
//! one has a schema, and no schema reachable from it is free-form (`{}`,
//! `serde_json::Value`) or a bare object (`Object`, `type: object` without
//! `properties`, `additionalProperties` or `$ref`). Non-JSON answers (CSV,
//! XLSX, HTML, bytes, text) need only their content type.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// Operations (`METHOD path`) allowed to answer without a real schema:
/// none. (The test fails for a listed operation that passes, so a list
/// kept here while a route is being reworked can only shrink.)
const NOT_YET: &[&str] = &[];

/// The document the server serves at `/api/v1/openapi.json`, as JSON.
fn document() -> Value {
    let (_, openapi) = super::api_routes(1 << 20).split_for_parts();
    serde_json::to_value(openapi).expect("the document serializes")
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// What is wrong with each operation's answers, by `METHOD path`.
fn problems(doc: &Value) -> BTreeMap<String, Vec<String>> {
    let mut all = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("the document has paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut out = Vec::new();
            operation(doc, op, &mut out);
            if !out.is_empty() {
                all.insert(format!("{} {path}", method.to_uppercase()), out);
            }
        }
    }
    all
}

fn operation(doc: &Value, op: &Value, out: &mut Vec<String>) {
    let responses = op["responses"].as_object().cloned().unwrap_or_default();
    let successes: Vec<(&String, &Value)> = responses.iter().filter(|(code, _)| code.starts_with('2')).collect();
    if successes.is_empty() {
        out.push("declares no successful (2xx) answer".into());
    }
    for (code, response) in successes {
        let response = match response.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve(doc, r) {
                Some(resolved) => resolved,
                None => {
                    out.push(format!("{code}: dangling {r}"));
                    continue;
                }
            },
            None => response,
        };
        let content = response.get("content").and_then(Value::as_object).filter(|c| !c.is_empty());
        let Some(content) = content else {
            if !matches!(code.as_str(), "204" | "205") {
                out.push(format!("{code}: declares no content type (an answer without a body is 204)"));
            }
            continue;
        };
        for (media_type, media) in content {
            if !is_json(media_type) {
                continue;
            }
            match media.get("schema") {
                Some(schema) => {
                    let mut seen = BTreeSet::new();
                    check_schema(doc, schema, &format!("{code} {media_type}"), &mut seen, out);
                }
                None => out.push(format!("{code} {media_type}: no schema")),
            }
        }
    }
}

fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Checks a schema and every schema reachable from it (each `$ref` once).
fn check_schema(doc: &Value, schema: &Value, at: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
    if schema == &Value::Bool(true) {
        out.push(format!("{at}: free-form (`true`)"));
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if seen.insert(reference.to_owned()) {
            match resolve(doc, reference) {
                Some(target) => check_schema(doc, target, reference, seen, out),
                None => out.push(format!("{at}: dangling {reference}")),
            }
        }
        return;
    }
    let mut shaped = false;
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            shaped = true;
            for (i, s) in list.iter().enumerate() {
                check_schema(doc, s, &format!("{at}.{key}[{i}]"), seen, out);
            }
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if schema.get("enum").is_some() || schema.get("const").is_some() {
        shaped = true;
    }
    if types.iter().any(|t| !matches!(*t, "array" | "object")) {
        shaped = true;
    }
    if types.contains(&"array") {
        shaped = true;
        match schema.get("items") {
            Some(items) => check_schema(doc, items, &format!("{at}[]"), seen, out),
            None => out.push(format!("{at}: an array without items")),
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    if types.contains(&"object") || properties.is_some() {
        shaped = true;
        if properties.is_none() && additional.is_none() {
            out.push(format!("{at}: an object without properties or additionalProperties"));
        }
        for (name, property) in properties.into_iter().flatten() {
            check_schema(doc, property, &format!("{at}.{name}"), seen, out);
        }
        // A map declares its values: a schema is checked; `{}` (or `true`)
        // says any value, which is the declared shape of such a map.
        if let Some(values) = additional.filter(|a| a.as_object().is_some_and(|o| !o.is_empty())) {
            check_schema(doc, values, &format!("{at}{{*}}"), seen, out);
        }
    }
    if !shaped {
        out.push(format!("{at}: free-form (no type, properties or $ref)"));
    }
}

#[test]
fn every_json_answer_of_the_api_has_a_real_schema() {
    let found = problems(&document());
    let listed: BTreeSet<&str> = NOT_YET.iter().copied().collect();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(op, _)| !listed.contains(op.as_str()))
        .map(|(op, why)| format!("{op}: {}", why.join("; ")))
        .collect();
    assert!(unexpected.is_empty(), "answers without a real schema:\n{}", unexpected.join("\n"));
    let fixed: Vec<&&str> = listed.iter().filter(|op| !found.contains_key(**op)).collect();
    assert!(fixed.is_empty(), "these now have real schemas: remove them from NOT_YET: {fixed:?}");
}

/// The check itself finds each kind of gap (so that the test above can fail).
#[test]
fn the_check_finds_every_kind_of_gap() {
    let ok = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let doc = json!({
        "paths": {
            "/bare": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/any": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {}}}}}}},
            "/nested": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Outer"}}}}}}}},
            "/no-content": {"post": {"responses": {"200": {"description": "JSON, somehow"}}}},
            "/no-success": {"delete": {"responses": {"404": {"description": "gone"}}}},
            "/no-schema": {"get": {"responses": {"201": {"content": {"application/problem+json": {}}}}}},
            "/fine": {
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Fine"}}}}}},
                "delete": {"responses": {"204": {"description": "done"}}},
                "put": {"responses": {"200": {"content": {"text/csv": {}}}}},
            },
        },
        "components": {"schemas": {
            "Outer": {"type": "object", "properties": {"inner": {"oneOf": [{"type": "null"}, {"type": "object"}]}}},
            "Fine": {"type": "object", "properties": {
                "map": {"type": "object", "additionalProperties": {}},
                "list": {"type": "array", "items": ok},
                "maybe": {"type": ["string", "null"]},
            }},
        }},
    });
    let found = problems(&doc);
    let flagged: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        flagged,
        BTreeSet::from([
            "GET /bare",
            "GET /any",
            "GET /nested",
            "POST /no-content",
            "DELETE /no-success",
            "GET /no-schema"
        ]),
        "{found:#?}"
    );
}

/// Files under `store/` whose records still have an OpenAPI schema (none: it may only stay empty).
const STORE_SCHEMAS_NOT_YET: &[&str] = &[];

/// Store records are not HTTP bodies: no type under `store/` has an OpenAPI
/// schema (`ToSchema`); `http/` defines the view it answers with.
#[test]
fn no_store_record_is_an_http_body() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut with_schema = BTreeSet::new();
    let mut pending = vec![dir.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("a folder under src/store") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            if text.contains("ToSchema") {
                let name = path.strip_prefix(&dir).expect("under src/store").to_string_lossy().into_owned();
                with_schema.insert(name);
            }
        }
    }
    let listed: BTreeSet<String> = STORE_SCHEMAS_NOT_YET.iter().map(|f| (*f).to_owned()).collect();
    let unexpected: Vec<&String> = with_schema.difference(&listed).collect();
    assert!(unexpected.is_empty(), "store records with an OpenAPI schema (define a view in http/): {unexpected:?}");
    let fixed: Vec<&String> = listed.difference(&with_schema).collect();
    assert!(fixed.is_empty(), "these no longer define a schema: remove them from STORE_SCHEMAS_NOT_YET: {fixed:?}");
}
