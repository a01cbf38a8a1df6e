//! Coolify's own OpenAPI document (read at test time from `../shared/coolify/openapi.yaml`,
//! never copied into the repo) and a small JSON-schema validator over it, with the errata of
//! coolify-notes §2 applied where the controllers are stricter or looser than the document.

use std::path::PathBuf;

use serde_json::{Map, Value};

/// Where the document is: `SUPALOVE_COOLIFY_OPENAPI`, else `shared/coolify/openapi.yaml` in
/// the nearest ancestor of this crate that has one (the repo's sibling `shared/`).
pub fn document_path() -> PathBuf {
    if let Ok(p) = std::env::var("SUPALOVE_COOLIFY_OPENAPI") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in here.ancestors() {
        let candidate = dir.join("shared/coolify/openapi.yaml");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "Coolify's OpenAPI document is missing: expected shared/coolify/openapi.yaml beside the \
         repo (e.g. {}/../../../shared/coolify/openapi.yaml) or SUPALOVE_COOLIFY_OPENAPI",
        here.display()
    );
}

/// The document, parsed once per fake.
pub struct OpenApi {
    doc: Value,
}

/// Path parameters by name.
pub type Params = Vec<(String, String)>;

/// A matched operation.
pub struct Route {
    /// The document's path template (`/services/{uuid}`).
    pub template: String,
    pub params: Params,
    pub op: Value,
}

/// Why a request is not what the document describes.
#[derive(Debug)]
pub enum Mismatch {
    /// No such path in the document.
    UnknownPath,
    /// The path exists, the method does not.
    WrongMethod,
}

impl OpenApi {
    /// Loads the YAML document (panics loudly when it cannot).
    pub fn load() -> Self {
        let path = document_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{} is not the OpenAPI 3.1 document the notes describe",
            path.display()
        );
        let mut api = OpenApi { doc };
        api.apply_errata();
        api
    }

    /// coolify-notes §2: the controllers, not the document, decide.
    fn apply_errata(&mut self) {
        // 1. POST /services wants one of environment_name / environment_uuid, not both.
        let create = &mut self.doc["paths"]["/services"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        if let Some(req) = create["required"].as_array_mut() {
            req.retain(|k| k != "environment_name" && k != "environment_uuid");
        }
        // 2. Service create/update and project create reject any other key (422).
        for (path, method) in [
            ("/services", "post"),
            ("/services/{uuid}", "patch"),
            ("/projects", "post"),
        ] {
            self.doc["paths"][path][method]["requestBody"]["content"]["application/json"]
                ["schema"]["additionalProperties"] = Value::Bool(false);
        }
        // 2b. The env endpoints accept an undocumented `comment`.
        for (path, method) in [
            ("/services/{uuid}/envs", "post"),
            ("/services/{uuid}/envs", "patch"),
        ] {
            self.doc["paths"][path][method]["requestBody"]["content"]["application/json"]
                ["schema"]["properties"]["comment"] = serde_json::json!({"type": "string"});
        }
        self.doc["paths"]["/services/{uuid}/envs/bulk"]["patch"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"]["data"]["items"]["properties"]
            ["comment"] = serde_json::json!({"type": "string"});
        // 3. `nullable` is a 3.0 keyword, ignored under 3.1: the validator ignores it too.
        // 4. Responses are under-described: extra properties are allowed (the default).
    }

    /// The operation for `method path` (`path` without `/api/v1`); literal segments beat
    /// parameters (`/projects/{uuid}/environments` over `/projects/{uuid}/{env}`).
    pub fn route(&self, method: &str, path: &str) -> Result<Route, Mismatch> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut best: Option<(usize, String, Params)> = None;
        let paths = self.doc["paths"].as_object().expect("paths");
        for template in paths.keys() {
            let tsegs: Vec<&str> = template.split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literal = 0;
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    if s.is_empty() {
                        return false;
                    }
                    params.push((t[1..t.len() - 1].to_string(), s.to_string()));
                    true
                } else {
                    literal += 1;
                    t == s
                }
            });
            if ok && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, template.clone(), params));
            }
        }
        let (_, template, params) = best.ok_or(Mismatch::UnknownPath)?;
        let op = paths[&template]
            .get(method.to_ascii_lowercase())
            .cloned()
            .ok_or(Mismatch::WrongMethod)?;
        Ok(Route {
            template,
            params,
            op,
        })
    }

    /// Whether the operation needs a bearer token.
    pub fn secured(&self, route: &Route) -> bool {
        match route.op.get("security") {
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
            None => self.doc.get("security").is_some(),
        }
    }

    /// Checks the query against the operation's parameters: unknown names, missing required
    /// ones and booleans that are not `true`/`false`.
    pub fn check_query(&self, route: &Route, query: &[(String, String)]) -> Vec<String> {
        let mut problems = Vec::new();
        let params: Vec<Value> = route.op["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|p| self.resolve(&p).clone())
            .filter(|p| p["in"] == "query")
            .collect();
        for (k, v) in query {
            match params.iter().find(|p| p["name"] == k.as_str()) {
                None => problems.push(format!("query parameter {k} is not in the document")),
                Some(p) => {
                    if p["schema"]["type"] == "boolean" && v != "true" && v != "false" {
                        problems.push(format!("query parameter {k}={v} is not a boolean"));
                    }
                    if p["schema"]["type"] == "integer" && v.parse::<i64>().is_err() {
                        problems.push(format!("query parameter {k}={v} is not an integer"));
                    }
                }
            }
        }
        for p in &params {
            if p["required"] == true && !query.iter().any(|(k, _)| p["name"] == k.as_str()) {
                problems.push(format!("query parameter {} is required", p["name"]));
            }
        }
        problems
    }

    /// The JSON schema of the request body, if the operation takes one.
    pub fn body_schema(&self, route: &Route) -> Option<Value> {
        let rb = route.op.get("requestBody")?;
        Some(
            self.resolve(&rb["content"]["application/json"]["schema"])
                .clone(),
        )
    }

    /// Validates `body` against the request schema: `field → messages`, empty when valid.
    pub fn check_body(&self, schema: &Value, body: &Value) -> Map<String, Value> {
        let mut errors = Map::new();
        self.validate(schema, body, "", &mut errors);
        errors
    }

    /// Validates a response the fake is about to send against the document, when the
    /// document describes that status. Returns the problems.
    pub fn check_response(&self, route: &Route, status: u16, body: &ResponseBody) -> Vec<String> {
        let responses = &route.op["responses"];
        let Some(resp) = responses.get(status.to_string()) else {
            return if (200..300).contains(&status) {
                vec![format!(
                    "{} answers {status}, which the document does not list",
                    route.template
                )]
            } else {
                vec![]
            };
        };
        let resp = self.resolve(resp);
        let Some(content) = resp.get("content").and_then(Value::as_object) else {
            return vec![];
        };
        match body {
            ResponseBody::Text(_) => {
                if content.contains_key("text/html") || content.contains_key("text/plain") {
                    vec![]
                } else {
                    vec![format!("{} {status} should be JSON", route.template)]
                }
            }
            ResponseBody::Json(v) => {
                let Some(schema) = content.get("application/json").map(|c| &c["schema"]) else {
                    return vec![format!("{} {status} should be text", route.template)];
                };
                let mut errors = Map::new();
                self.validate(schema, v, "", &mut errors);
                errors
                    .into_iter()
                    .map(|(k, v)| format!("{} {status} response {k}: {v}", route.template))
                    .collect()
            }
        }
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#').expect("local $ref");
                self.resolve(
                    self.doc
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("bad $ref {r}")),
                )
            }
            None => v,
        }
    }

    /// Draft 2020-12's keywords that these schemas use; `format` and `pattern` are not checked
    /// (the fake checks the patterns that matter, such as env keys, as the controllers do).
    fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Map<String, Value>) {
        let schema = self.resolve(schema);
        let mut fail = |msg: String| {
            let key = if at.is_empty() {
                "body".to_string()
            } else {
                at.to_string()
            };
            let entry = errors.entry(key).or_insert_with(|| Value::Array(vec![]));
            entry
                .as_array_mut()
                .expect("array")
                .push(Value::String(msg));
        };
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = types.iter().any(|t| match *t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                "null" => v.is_null(),
                _ => true,
            });
            if !ok {
                fail(format!("must be of type {}", types.join("|")));
                return;
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                fail(format!("must be one of {}", Value::Array(e.clone())));
            }
        }
        if let Value::String(s) = v {
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if s.chars().count() as u64 > max {
                    fail(format!("may not be greater than {max} characters"));
                }
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if (s.chars().count() as u64) < min {
                    fail(format!("must be at least {min} characters"));
                }
            }
        }
        if let Some(n) = v.as_f64() {
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if n < min {
                    fail(format!("must be at least {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if n > max {
                    fail(format!("may not be greater than {max}"));
                }
            }
        }
        if let Value::Object(obj) = v {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(req) = schema.get("required").and_then(Value::as_array) {
                for k in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(k) {
                        let key = join(at, k);
                        errors
                            .entry(key.clone())
                            .or_insert_with(|| Value::Array(vec![]))
                            .as_array_mut()
                            .expect("array")
                            .push(Value::String(format!("The {k} field is required.")));
                    }
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.validate(s, val, &join(at, k), errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors
                                .entry(join(at, k))
                                .or_insert_with(|| Value::Array(vec![]))
                                .as_array_mut()
                                .expect("array")
                                .push(Value::String("This field is not allowed.".into()));
                        }
                        Some(s @ Value::Object(_)) => self.validate(s, val, &join(at, k), errors),
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.validate(s, item, &join(at, &i.to_string()), errors);
            }
        }
        for key in ["allOf"] {
            if let Some(all) = schema.get(key).and_then(Value::as_array) {
                for s in all {
                    self.validate(s, v, at, errors);
                }
            }
        }
    }
}

fn join(at: &str, k: &str) -> String {
    if at.is_empty() {
        k.to_string()
    } else {
        format!("{at}.{k}")
    }
}

/// What the fake answers with.
pub enum ResponseBody {
    Json(Value),
    Text(String),
}
