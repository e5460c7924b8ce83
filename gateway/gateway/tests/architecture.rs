//! The layering rules of ARCHITECTURE.md, checked on the source: no import
//! cycle between the crate's top-level modules, and the layers that must
//! not reach up (the store, the decision modules, delivery) do not name
//! the layers above them. A reference is `crate::<module>` or a
//! `use crate::{<module>, …}` group, outside `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "tests.rs") {
            out.push(path);
        }
    }
}

/// The identifiers after each `crate::` in `text`, and the first segment
/// of each item of a `crate::{…}` group.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|item| ident(item.trim())).filter(|m| !m.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Module → the other top-level modules it references.
fn graph() -> Graph {
    let src = src();
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("src is readable")
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: Graph = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("a path").as_os_str().to_string_lossy();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
        if !modules.contains(&module) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        // Test modules sit at the end of a file by convention.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for target in referenced(text) {
            if target != module && modules.contains(&target) {
                graph.get_mut(&module).expect("a module").insert(target);
            }
        }
    }
    graph
}

/// The modules reachable from `from`.
fn reachable(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(m) = stack.pop() {
        for next in &graph[&m] {
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = graph();
    let cycles: Vec<String> =
        graph.keys().filter(|m| reachable(&graph, m).contains(*m)).map(|m| format!("{m} -> {:?}", graph[m])).collect();
    assert!(cycles.is_empty(), "modules in an import cycle:\n{}", cycles.join("\n"));
}

#[test]
fn lower_layers_do_not_reach_up() {
    let graph = graph();
    let above = ["http", "service", "state", "server", "cli", "workflow_tasks"];
    for lower in ["model", "auth", "store", "workflow", "sealing", "delivery", "review", "policy", "plugin_host"] {
        let Some(uses) = graph.get(lower) else { continue };
        let wrong: Vec<&String> = uses.iter().filter(|m| above.contains(&m.as_str())).collect();
        assert!(wrong.is_empty(), "{lower} must not depend on {wrong:?}");
    }
}

#[test]
fn the_check_sees_references() {
    let found = referenced("use crate::{model::ItemId, store};\nlet x = crate::http::ApiError;");
    assert_eq!(found, ["http", "model", "store"].into_iter().map(String::from).collect());
    // A cycle in a made-up graph is found.
    let mut g: Graph = BTreeMap::new();
    g.insert("a".into(), ["b".to_owned()].into());
    g.insert("b".into(), ["a".to_owned()].into());
    assert!(reachable(&g, "a").contains("a"));
}
