//! The one-way rule of ARCHITECTURE.md, read from the code itself: every `crate::…`,
//! `super::…` and `self::…` path in `src/` is an edge from its file to the file of the module
//! it names. The test fails, naming the files, on an edge that runs against the order of the
//! layers and on any circle between files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom up; a module may use the modules of earlier groups,
/// never those of its own group or later ones (ARCHITECTURE.md, "Layers").
const ORDER: &[&[&str]] = &[
    &["clock"],
    &["error"],
    &["db"],
    &["http"],
    &["auth"],
    &["events"],
    &["idempotency"],
    &["jobs"],
    &["attributes"],
    &["tasks"],
    &["contracts"],
    &["installations"],
    &["obligations", "service_calls"],
    &["dossiers"],
    &["workflows"],
    &["documents"],
    &["flows"],
    &["integration", "webhooks"],
    &["scheduler"],
    &["health"],
    &["config"],
    &["startup"],
    &["seed"],
    &["lib", "main"],
];

/// A module path (`["contracts", "service"]`) and the file that holds it.
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

fn modules(src: &Path) -> Vec<Module> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<Module>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                let mut path = prefix.to_vec();
                path.push(name);
                walk(&p, &path, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let mut path = prefix.to_vec();
                if name != "mod" {
                    path.push(name);
                }
                out.push(Module { path, file: p });
            }
        }
    }
    let mut out = Vec::new();
    walk(src, &[], &mut out);
    out
}

/// The code of a file without comments, string and char literals (which may mention paths).
fn code(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b[i + 1..].starts_with(b"\"") || b[i + 1..].starts_with(b"#")) && !ident(b, i) {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j < b.len() && b[j] == b'"' {
                let end = format!("\"{}", "#".repeat(hashes));
                let rest = &text[j + 1..];
                i = j + 1 + rest.find(&end).map(|k| k + end.len()).unwrap_or(rest.len());
                out.push_str("\"\"");
            } else {
                out.push('r');
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || (b[i + 1] == b'\\' && b[i + 3] == b'\'')) {
            // A char literal ('x', '\n'); lifetimes ('a) pass through.
            i += if b[i + 1] == b'\\' { 4 } else { 3 };
            out.push_str("' '");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Every path that starts with `crate::`, `super::` or `self::` (use trees expanded), as
/// written: `["super", "store", "get"]`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let starts = matches!(t, "crate" | "super" | "self")
            && tokens.get(i + 1).is_some_and(|n| n == "::")
            && (i == 0 || tokens[i - 1] != "::");
        if starts {
            i = use_tree(&tokens, i, Vec::new(), &mut out);
        } else {
            i += 1;
        }
    }
    out
}

fn tokenize(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// Reads a path (or use tree) from `tokens[i]` on, below `prefix`; returns where it ended.
fn use_tree(tokens: &[String], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                loop {
                    match tokens.get(i).map(String::as_str) {
                        Some("}") => return i + 1,
                        Some(",") => i += 1,
                        None => return i,
                        _ => i = use_tree(tokens, i, prefix.clone(), out),
                    }
                }
            }
            Some("*") => {
                out.push(prefix);
                return i + 1;
            }
            Some(t) if t.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_') => {
                prefix.push(t.to_string());
                i += 1;
                if tokens.get(i).is_some_and(|n| n == "::") {
                    i += 1;
                } else {
                    out.push(prefix);
                    return i;
                }
            }
            _ => {
                out.push(prefix);
                return i;
            }
        }
    }
}

/// The module a written path leads to: the longest known module at its start.
fn target<'a>(from: &Module, written: &[String], known: &'a BTreeMap<Vec<String>, PathBuf>) -> Option<&'a PathBuf> {
    let (mut path, rest): (Vec<String>, &[String]) = match written.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &written[1..]),
        Some("self") => (from.path.clone(), &written[1..]),
        Some("super") => {
            // In `a/b.rs` (module a::b), `super` is `a`; in `a/mod.rs` (module a) it is the root.
            let mut path = from.path.clone();
            let mut r = written;
            while r.first().is_some_and(|s| s == "super") {
                path.pop();
                r = &r[1..];
            }
            (path, r)
        }
        _ => return None,
    };
    let mut best = known.get(&path);
    for seg in rest {
        path.push(seg.clone());
        match known.get(&path) {
            Some(f) => best = Some(f),
            None => break,
        }
    }
    best
}

fn layer_of(file: &Path, src: &Path) -> (usize, String) {
    let rel = file.strip_prefix(src).unwrap();
    let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
    let rank = ORDER
        .iter()
        .position(|group| group.contains(&top.as_str()))
        .unwrap_or_else(|| panic!("src/{top} has no place in ORDER (tests/layers.rs and ARCHITECTURE.md)"));
    (rank, top)
}

fn edges(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mods = modules(src);
    let known: BTreeMap<Vec<String>, PathBuf> = mods.iter().map(|m| (m.path.clone(), m.file.clone())).collect();
    let mut graph = BTreeMap::new();
    for m in &mods {
        let text = std::fs::read_to_string(&m.file).unwrap();
        let mut to = BTreeSet::new();
        for p in paths(&code(&text)) {
            if let Some(f) = target(m, &p, &known) {
                if *f != m.file {
                    to.insert(f.clone());
                }
            }
        }
        graph.insert(m.file.clone(), to);
    }
    graph
}

fn rel(p: &Path, src: &Path) -> String {
    format!("src/{}", p.strip_prefix(src).unwrap().display())
}

/// Imports against the order that are still to be removed (issue "A one-way house"): the list
/// only shrinks. An import not listed fails the test, and so does a listed one that is gone.
const KNOWN_WRONG_WAY: &[&str] = &[];

/// Circles still to be broken, each as its files in name order joined by ` <-> `.
const KNOWN_CIRCLES: &[&str] = &[];

/// Fails unless `found` is exactly `known`, naming what is new and what is gone.
fn ratchet(what: &str, found: &[String], known: &[&str]) {
    let new: Vec<&String> = found.iter().filter(|f| !known.contains(&f.as_str())).collect();
    let gone: Vec<&&str> = known.iter().filter(|k| !found.iter().any(|f| f == *k)).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "{what}:\n  new (fix them):\n    {}\n  gone (remove them from the list in tests/layers.rs):\n    {}",
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n    "),
        gone.iter().map(|s| **s).collect::<Vec<_>>().join("\n    ")
    );
}

#[test]
fn every_import_runs_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (from, tos) in edges(&src) {
        let (rank, top) = layer_of(&from, &src);
        for to in tos {
            let (to_rank, to_top) = layer_of(&to, &src);
            if to_top != top && to_rank >= rank {
                wrong.push(format!("{} uses {}", rel(&from, &src), rel(&to, &src)));
            }
        }
    }
    ratchet("imports against the order of ARCHITECTURE.md", &wrong, KNOWN_WRONG_WAY);
}

#[test]
fn no_file_imports_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = edges(&src);
    // Tarjan's strongly connected components: every component of more than one file is a circle.
    struct State<'a> {
        graph: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        circles: Vec<Vec<&'a PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.circles.push(component);
            }
        }
    }
    let mut s = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        circles: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let circles: Vec<String> = s
        .circles
        .iter()
        .map(|c| {
            let mut files: Vec<String> = c.iter().map(|f| rel(f, &src)).collect();
            files.sort();
            files.join(" <-> ")
        })
        .collect();
    ratchet("files that import each other in a circle", &circles, KNOWN_CIRCLES);
}

#[test]
fn the_reader_finds_paths_in_use_trees_and_code_only() {
    let text = r#"
        use crate::http::{errors::{ApiError, Problem}, etag};
        use super::store;
        // crate::commented::out
        let s = "crate::in_a_string";
        fn f() { crate::events::store::record(); self::g(); }
    "#;
    let mut found: Vec<String> = paths(&code(text)).iter().map(|p| p.join("::")).collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            "crate::events::store::record",
            "crate::http::errors::ApiError",
            "crate::http::errors::Problem",
            "crate::http::etag",
            "self::g",
            "super::store"
        ]
    );
}
