//! Generates `ui/src/lib/api/bindings/Commands.ts` from the `#[tauri::command]` functions in
//! `commands.rs`: every command's name, the arguments the UI passes (camelCase, as Tauri
//! expects) and its result. The UI's wrappers and its mocked backend are typed by it, so a
//! renamed or re-typed command fails the UI's type check; `scripts/test.sh` fails when the
//! committed file drifts. Run with `cargo test -p supalove-app --lib export_bindings`.

use std::collections::{BTreeMap, BTreeSet};

use syn::{FnArg, GenericArgument, Item, Pat, PathArguments, ReturnType, Type};

/// The TypeScript name of each Rust type that crosses the IPC boundary (ts-rs may rename).
fn known_types() -> BTreeMap<&'static str, String> {
    use supalove_core::backup::{BackupReport, RestoreReport};
    use supalove_core::card::ProjectCard;
    use supalove_core::projects::DoctorReport;
    use supalove_core::provisioner::{
        EngineStatus, Progress, RemoveReport, ServiceStats, StatusEvent,
    };
    use supalove_core::settings::AppSettings;
    use supalove_core::sql::{StatementResult, TableInfo};
    use supalove_core::subscription::{SubscribeRequest, SubscriptionEvent};

    use crate::dto::{CreateProjectRequest, LocalApiStatus, LogBatch, NameCheck};

    fn n<T: ts_rs::TS>() -> String {
        T::ident()
    }
    BTreeMap::from([
        ("AppSettings", n::<AppSettings>()),
        ("BackupReport", n::<BackupReport>()),
        ("CreateProjectRequest", n::<CreateProjectRequest>()),
        ("DoctorReport", n::<DoctorReport>()),
        ("EngineStatus", n::<EngineStatus>()),
        ("LocalApiStatus", n::<LocalApiStatus>()),
        ("LogBatch", n::<LogBatch>()),
        ("NameCheck", n::<NameCheck>()),
        ("Progress", n::<Progress>()),
        ("ProjectCard", n::<ProjectCard>()),
        ("RemoveReport", n::<RemoveReport>()),
        ("RestoreReport", n::<RestoreReport>()),
        ("ServiceStats", n::<ServiceStats>()),
        ("StatementResult", n::<StatementResult>()),
        ("StatusEvent", n::<StatusEvent>()),
        ("SubscribeRequest", n::<SubscribeRequest>()),
        ("SubscriptionEvent", n::<SubscriptionEvent>()),
        ("TableInfo", n::<TableInfo>()),
    ])
}

/// Parameters Tauri fills in itself; the UI never passes them.
const INJECTED: &[&str] = &[
    "St",
    "State",
    "AppHandle",
    "Window",
    "Webview",
    "WebviewWindow",
];

struct Mapper {
    known: BTreeMap<&'static str, String>,
    imports: BTreeSet<String>,
    channel: bool,
}

impl Mapper {
    fn ty(&mut self, ty: &Type) -> String {
        match ty {
            Type::Tuple(t) if t.elems.is_empty() => "null".into(),
            Type::Reference(r) => self.ty(&r.elem),
            Type::Path(p) => {
                let seg = p.path.segments.last().expect("a type path has a segment");
                let args: Vec<&Type> = match &seg.arguments {
                    PathArguments::AngleBracketed(a) => a
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let name = seg.ident.to_string();
                match (name.as_str(), args.as_slice()) {
                    ("String" | "str", []) => "string".into(),
                    ("bool", []) => "boolean".into(),
                    (
                        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64"
                        | "isize" | "f32" | "f64",
                        [],
                    ) => "number".into(),
                    ("Value", []) => "unknown".into(),
                    ("Map", [_, _]) => "Record<string, unknown>".into(),
                    ("Option", [t]) => format!("{} | null", self.ty(t)),
                    ("Vec", [t]) => format!("Array<{}>", self.ty(t)),
                    ("Res", [t]) | ("Result", [t, _]) => self.ty(t),
                    ("Channel", [t]) => {
                        self.channel = true;
                        format!("Channel<{}>", self.ty(t))
                    }
                    (other, []) => match self.known.get(other) {
                        Some(ts) => {
                            self.imports.insert(ts.clone());
                            ts.clone()
                        }
                        None => panic!(
                            "command_bindings: no TypeScript name for `{other}`: add it to known_types()"
                        ),
                    },
                    (other, _) => panic!("command_bindings: unsupported type `{other}<..>`"),
                }
            }
            _ => panic!("command_bindings: unsupported type in a command signature"),
        }
    }
}

fn is_command(f: &syn::ItemFn) -> bool {
    f.attrs.iter().any(|a| {
        let segs: Vec<String> = a
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        segs == ["tauri", "command"]
    })
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn injected(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| INJECTED.contains(&s.ident.to_string().as_str())),
        Type::Reference(r) => injected(&r.elem),
        _ => false,
    }
}

/// The commands in `source` (a commands.rs), in order: (name, TS args type, TS result type).
fn commands(source: &str, mapper: &mut Mapper) -> Vec<(String, String, String)> {
    let file = syn::parse_file(source).expect("commands.rs parses");
    let mut out = Vec::new();
    for item in file.items {
        let Item::Fn(f) = item else { continue };
        if !is_command(&f) {
            continue;
        }
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            let FnArg::Typed(pt) = input else { continue };
            if injected(&pt.ty) {
                continue;
            }
            let Pat::Ident(id) = &*pt.pat else {
                panic!(
                    "command_bindings: {}: use plain argument names",
                    f.sig.ident
                )
            };
            let name = camel(id.ident.to_string().trim_start_matches('_'));
            let ts = mapper.ty(&pt.ty);
            let optional = if ts.ends_with(" | null") { "?" } else { "" };
            args.push(format!("{name}{optional}: {ts}"));
        }
        let result = match &f.sig.output {
            ReturnType::Default => "null".to_string(),
            ReturnType::Type(_, t) => mapper.ty(t),
        };
        let args = if args.is_empty() {
            "Record<string, never>".to_string()
        } else {
            format!("{{ {} }}", args.join("; "))
        };
        out.push((f.sig.ident.to_string(), args, result));
    }
    out
}

/// The commands `lib.rs` registers with `generate_handler!`.
fn registered(lib_rs: &str) -> BTreeSet<String> {
    let start = lib_rs
        .find("generate_handler![")
        .expect("lib.rs registers commands");
    let body = &lib_rs[start..];
    let body = &body[..body.find(']').expect("generate_handler! closes")];
    body.split(|c: char| c == ',' || c.is_whitespace() || c == '[')
        .filter_map(|t| t.strip_prefix("commands::"))
        .map(str::to_string)
        .collect()
}

fn render(commands: &[(String, String, String)], mapper: &Mapper) -> String {
    let mut ts = String::from(
        "// Generated from src-tauri/src/commands.rs by the `export_bindings_commands` test. Do not edit it by hand.\n",
    );
    if mapper.channel {
        ts.push_str("import type { Channel } from \"@tauri-apps/api/core\";\n");
    }
    for name in &mapper.imports {
        ts.push_str(&format!("import type {{ {name} }} from \"./{name}\";\n"));
    }
    ts.push_str(
        "\n/** Every command the app registers: the arguments the UI passes and what it resolves with. */\nexport interface Commands {\n",
    );
    for (name, args, result) in commands {
        ts.push_str(&format!(
            "  {name}: {{ args: {args}; result: {result} }};\n"
        ));
    }
    ts.push_str("}\n\n/** A command's name. */\nexport type CommandName = keyof Commands;\n");
    ts.push_str("/** What a command takes. */\nexport type CommandArgs<K extends CommandName> = Commands[K][\"args\"];\n");
    ts.push_str("/** What a command resolves with. */\nexport type CommandResult<K extends CommandName> = Commands[K][\"result\"];\n");
    ts
}

#[test]
fn export_bindings_commands() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let source = std::fs::read_to_string(format!("{dir}/src/commands.rs")).unwrap();
    let lib_rs = std::fs::read_to_string(format!("{dir}/src/lib.rs")).unwrap();
    let mut mapper = Mapper {
        known: known_types(),
        imports: BTreeSet::new(),
        channel: false,
    };
    let found = commands(&source, &mut mapper);
    let names: BTreeSet<String> = found.iter().map(|(n, _, _)| n.clone()).collect();
    assert_eq!(
        names,
        registered(&lib_rs),
        "every #[tauri::command] in commands.rs is registered in lib.rs, and only those"
    );
    let out = render(&found, &mapper);
    let path = format!("{dir}/../ui/src/lib/api/bindings/Commands.ts");
    std::fs::write(&path, &out).unwrap();
    assert!(out.contains("create_project: { args: { request: CreateProjectRequest; onProgress: Channel<Progress> }; result: ProjectCard }"), "{out}");
}

#[test]
fn types_map_as_the_ui_receives_them() {
    let mut mapper = Mapper {
        known: known_types(),
        imports: BTreeSet::new(),
        channel: false,
    };
    let src = r#"
        #[tauri::command]
        pub async fn a(state: St<'_>, some_flag: Option<bool>, ids: Vec<u32>, v: serde_json::Value) -> Res<()> { todo!() }
        #[tauri::command]
        pub fn b(m: serde_json::Map<String, serde_json::Value>) -> u64 { 0 }
        pub fn not_a_command(x: String) {}
    "#;
    let found = commands(src, &mut mapper);
    assert_eq!(
        found,
        vec![
            (
                "a".to_string(),
                "{ someFlag?: boolean | null; ids: Array<number>; v: unknown }".to_string(),
                "null".to_string()
            ),
            (
                "b".to_string(),
                "{ m: Record<string, unknown> }".to_string(),
                "number".to_string()
            ),
        ]
    );
    assert_eq!(camel("on_progress"), "onProgress");
}
