//! The crate's layers: `src/` has one folder (a "room") per layer, and a module may use its own layer or a lower one.
//! [`LAYERS`] below, lowest first, is the rule; the README's "Layout" section mirrors it (change both together).
//!
//! These tests read every `*.rs` file under `src/` as text (comments stripped, string and char literals blanked) and
//! fail, naming file, line and path, when
//! - a file is in no room of the table (exempt: `src/lib.rs`, the crate root, which may re-export anything, and the
//!   binary, `src/main.rs` and `src/cli/`, which use `biaslab::`);
//! - a path (`crate::…`, `super::…`, `self::…`, in a `use` or anywhere in code) reaches a higher layer, the other
//!   room of an [`INDEPENDENT`] pair, or a root re-export (`crate::FillMask`) instead of the canonical path, which
//!   would hide the real dependency from this check;
//! - modules (files) import each other in a cycle. For cycles, paths in `#[cfg(test)]` blocks do not count, nor do
//!   paths between a module and its own ancestor or descendant (a folder's `mod.rs` presenting its files, or a file
//!   using its folder's re-exports).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rooms, lowest layer first: (folder `src/<room>/` or file `src/<room>.rs`, layer).
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("env", 0),
    ("data", 1),
    ("view", 1),
    ("model", 2),
    ("measure", 3),
    ("train", 4),
    ("report", 5),
    ("teach", 6),
    ("course", 7),
    ("grade", 8),
];
/// Rooms on the same layer that must not use each other, either way.
const INDEPENDENT: &[(&str, &str)] = &[("data", "view")];
/// What under `src/` is not checked: the crate root and the binary.
const EXEMPT: &[&str] = &["lib.rs", "main.rs", "cli"];

/// The layer of a room, if it is in the table.
fn layer(room: &str) -> Option<u32> {
    LAYERS.iter().find(|(r, _)| *r == room).map(|(_, l)| *l)
}

/// One path found in a source file.
struct Import {
    line: usize,
    /// As written, a `use` group expanded: `super::data::Row`.
    written: String,
    /// From the crate root, without `crate`: `["measure", "suites", "data", "Row"]`.
    target: Vec<String>,
    /// Inside a `#[cfg(test)]` block.
    in_test: bool,
}

/// One checked `*.rs` file.
struct SourceFile {
    /// `src/model/hub.rs`.
    name: String,
    /// `["model", "hub"]`; `src/data/mod.rs` is `["data"]`.
    module: Vec<String>,
    imports: Vec<Import>,
}

impl SourceFile {
    /// `name` is the path from the package root (`src/…`), `text` the file's contents.
    fn new(name: &str, text: &str) -> SourceFile {
        let mut module: Vec<String> = name.trim_start_matches("src/").split('/').map(String::from).collect();
        let file = module.pop().unwrap();
        if file != "mod.rs" {
            module.push(file.trim_end_matches(".rs").to_string());
        }
        let imports = imports(text, &module);
        SourceFile { name: name.to_string(), module, imports }
    }

    /// `src/x.rs:LINE: imports crate::a::b`, or `… imports super::b (crate::a::b)`.
    fn at(&self, import: &Import) -> String {
        let canonical = format!("crate::{}", import.target.join("::"));
        let path = if import.written == canonical { canonical } else { format!("{} ({canonical})", import.written) };
        format!("{}:{}: imports {path}", self.name, import.line)
    }
}

/// Every `*.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's checked files (all but [`EXEMPT`]), sorted by name.
fn read_tree() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    paths.sort();
    let names = paths.iter().map(|p| p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
    let checked = names.filter(|name| !EXEMPT.contains(&name.split('/').nth(1).unwrap()));
    checked.map(|name| SourceFile::new(&name, &std::fs::read_to_string(root.join(&name)).unwrap())).collect()
}

/// `text` with comments (`//…`, nested `/* … */`) and the inside of string and char literals replaced by spaces,
/// newlines kept: only code is left, at the same lines and columns.
fn strip(text: &str) -> Vec<char> {
    let s: Vec<char> = text.chars().collect();
    let at = |k: usize| s.get(k).copied().unwrap_or('\0');
    let in_ident = |k: usize| k > 0 && (s[k - 1].is_alphanumeric() || s[k - 1] == '_');
    let (mut out, mut i) = (s.clone(), 0);
    while i < s.len() {
        // What to blank, from..to, and where to go on.
        let (from, to, next) = match s[i] {
            '/' if at(i + 1) == '/' => {
                let end = (i..s.len()).find(|&k| s[k] == '\n').unwrap_or(s.len());
                (i, end, end)
            }
            '/' if at(i + 1) == '*' => {
                let (mut depth, mut k) = (0, i);
                while k < s.len() && !(depth == 0 && k > i) {
                    // until the opening `/*` is closed
                    let step = (s[k], at(k + 1));
                    depth += if step == ('/', '*') {
                        1
                    } else if step == ('*', '/') {
                        -1
                    } else {
                        0
                    };
                    k += if matches!(step, ('/', '*') | ('*', '/')) { 2 } else { 1 };
                }
                (i, k, k)
            }
            '"' => {
                let mut k = i + 1;
                while k < s.len() && s[k] != '"' {
                    k += if s[k] == '\\' { 2 } else { 1 };
                }
                (i + 1, k, k + 1)
            }
            // A raw string, r"…", r#"…"#, br"…" (not the end of an identifier, nor a raw identifier r#type).
            'r' if !in_ident(i) || (matches!(s[i - 1], 'b' | 'c') && !in_ident(i - 1)) => {
                let hashes = s[i + 1..].iter().take_while(|c| **c == '#').count();
                let body = i + hashes + 2;
                if at(body - 1) != '"' {
                    (i, i, i + 1)
                } else {
                    let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                    let end = (body..s.len()).find(|&k| s[k..].starts_with(&close)).unwrap_or(s.len());
                    (body, end, end + close.len())
                }
            }
            // A char literal ('x', '"', '\'', '\u{…}'), not a lifetime ('a).
            '\'' if at(i + 1) == '\\' || at(i + 2) == '\'' => {
                let first = i + if at(i + 1) == '\\' { 3 } else { 2 };
                let end = (first..s.len()).find(|&k| s[k] == '\'').unwrap_or(s.len());
                (i + 1, end, end + 1)
            }
            _ => (i, i, i + 1),
        };
        out[from..to.min(s.len())].iter_mut().filter(|c| **c != '\n').for_each(|c| *c = ' ');
        i = next;
    }
    out
}

/// The first index from `i` that is not whitespace.
fn skip_ws(s: &[char], i: usize) -> usize {
    (i..s.len()).find(|&k| !s[k].is_whitespace()).unwrap_or(s.len())
}

/// The end of the identifier starting at `i` (`i` itself if there is none).
fn ident_end(s: &[char], i: usize) -> usize {
    (i..s.len()).find(|&k| !(s[k].is_alphanumeric() || s[k] == '_')).unwrap_or(s.len())
}

/// Whether the word `w` is at `i` in `s` (not inside an identifier, nor `$crate`).
fn word_at(s: &[char], i: usize, w: &str) -> bool {
    let end = i + w.len();
    w.chars().enumerate().all(|(k, c)| s.get(i + k) == Some(&c))
        && (i == 0 || !(s[i - 1].is_alphanumeric() || s[i - 1] == '_' || s[i - 1] == '$'))
        && ident_end(s, end) == end
}

/// Reads the path (or `use` tree) that follows `prefix::` at `i`, pushing each leaf's full path (`self` in a group is
/// the group's prefix); returns where it ends.
fn tree(s: &[char], i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut i = skip_ws(s, i);
    if s.get(i) == Some(&'{') {
        i += 1;
        loop {
            i = skip_ws(s, i);
            match s.get(i) {
                None => return i,
                Some('}') => return i + 1,
                Some(',') => i += 1,
                _ => {
                    let end = tree(s, i, prefix.clone(), out).max(i + 1);
                    i = (end..s.len()).find(|&k| matches!(s[k], ',' | '}')).unwrap_or(s.len());
                    // past ` as alias`
                }
            }
        }
    }
    let end = if s.get(i) == Some(&'*') { i + 1 } else { ident_end(s, i) };
    let name: String = s[i..end].iter().collect();
    let next = skip_ws(s, end);
    let more = end > i && name != "*" && s[next..].starts_with(&[':', ':']);
    let path = if name.is_empty() || name == "self" { prefix } else { [prefix, vec![name]].concat() };
    if more {
        return tree(s, next + 2, path, out);
    }
    out.push(path);
    end
}

/// The inline `mod name { … }` blocks of stripped code, outer ones first: (span, name, is `#[cfg(test)]`).
fn blocks(s: &[char]) -> Vec<(std::ops::Range<usize>, String, bool)> {
    let mut found = Vec::new();
    for i in (0..s.len()).filter(|&i| s[i] == 'm' && word_at(s, i, "mod")) {
        let name_at = skip_ws(s, i + 3);
        let open = skip_ws(s, ident_end(s, name_at));
        if open == name_at || s.get(open) != Some(&'{') {
            continue;
        }
        let mut depth = 0;
        let end = (open..s.len()).find(|&k| {
            depth += if s[k] == '{' {
                1
            } else if s[k] == '}' {
                -1
            } else {
                0
            };
            depth == 0
        });
        let item = s[..i].iter().rposition(|c| matches!(c, ';' | '{' | '}')).map_or(0, |k| k + 1);
        let attributes: String = s[item..i].iter().filter(|c| !c.is_whitespace()).collect();
        let name = s[name_at..ident_end(s, name_at)].iter().collect();
        found.push((i..end.unwrap_or(s.len()), name, attributes.contains("#[cfg(test)]")));
    }
    found
}

/// Every path in `text` that starts with `crate::`, `super::` or `self::`, resolved for the file of `module`.
fn imports(text: &str, module: &[String]) -> Vec<Import> {
    let s = strip(text);
    let blocks = blocks(&s);
    let (mut found, mut i, mut line, mut counted) = (Vec::new(), 0, 1, 0);
    while i < s.len() {
        let words = if matches!(s[i], 'c' | 's') { &["crate", "super", "self"][..] } else { &[] };
        let head = words.iter().find(|w| word_at(&s, i, w));
        let Some(head) = head.filter(|w| s[skip_ws(&s, i + w.len())..].starts_with(&[':', ':'])) else {
            i += 1;
            continue;
        };
        let mut leaves = Vec::new();
        let end = tree(&s, skip_ws(&s, i + head.len()) + 2, vec![head.to_string()], &mut leaves);
        line += s[counted..i].iter().filter(|c| **c == '\n').count();
        counted = i;
        let inside: Vec<_> = blocks.iter().filter(|(span, _, _)| span.contains(&i)).collect();
        let in_test = inside.iter().any(|(_, _, test)| *test);
        // `super` and `self` count from the module the path is in, inline `mod` blocks included.
        let here: Vec<String> = module.iter().chain(inside.iter().map(|(_, name, _)| name)).cloned().collect();
        for leaf in leaves {
            let mut target = if leaf[0] == "crate" { Vec::new() } else { here.clone() };
            let relative = leaf.iter().take_while(|p| matches!(p.as_str(), "crate" | "self" | "super"));
            target.truncate(target.len().saturating_sub(relative.filter(|p| *p == "super").count()));
            target.extend(leaf.iter().skip_while(|p| matches!(p.as_str(), "crate" | "self" | "super")).cloned());
            found.push(Import { line, written: leaf.join("::"), target, in_test });
        }
        i = end.max(i + 1);
    }
    found
}

/// Files that are in no room of [`LAYERS`].
fn unplaced(files: &[SourceFile]) -> Vec<String> {
    let unplaced = files.iter().filter(|f| layer(&f.module[0]).is_none());
    unplaced.map(|f| format!("{}: in no layer: put it in a layer folder and add it to the table", f.name)).collect()
}

/// Paths that reach a higher layer, an independent room of the same layer, or a root re-export.
fn layer_violations(files: &[SourceFile]) -> Vec<String> {
    let mut failures = Vec::new();
    for f in files {
        let (own_room, Some(own)) = (f.module[0].as_str(), layer(&f.module[0])) else { continue };
        for import in f.imports.iter().filter(|i| !i.target.is_empty()) {
            let (at, room) = (f.at(import), import.target[0].as_str());
            let independent = INDEPENDENT.iter().any(|&pair| pair == (room, own_room) || pair == (own_room, room));
            failures.extend(match layer(room) {
                None if files.iter().any(|g| g.module[0] == room) => Some(format!("{at}: `{room}` is in no layer")),
                None => Some(format!("{at}: use the canonical path (crate::<room>::...), not a root re-export")),
                Some(l) if l > own => Some(format!("{at} (layer {l}) from layer {own} ({own_room})")),
                Some(l) if independent => Some(format!("{at} (layer {l}) from {own_room}: they must not meet")),
                Some(_) => None,
            });
        }
    }
    failures
}

/// Every cycle of modules (strongly connected component of more than one file), with the paths that tie it.
fn cycles(files: &[SourceFile]) -> Vec<String> {
    let modules: BTreeMap<&[String], usize> = files.iter().enumerate().map(|(k, f)| (&f.module[..], k)).collect();
    let mut edges: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for (a, f) in files.iter().enumerate() {
        for import in f.imports.iter().filter(|i| !i.in_test) {
            // The longest prefix that names a file: `crate::model::hub::offline_mode` is `model::hub`.
            let t = &import.target;
            let Some(&b) = (1..=t.len()).rev().find_map(|n| modules.get(&t[..n])) else { continue };
            if !f.module.starts_with(&files[b].module) && !files[b].module.starts_with(&f.module) {
                edges.entry((a, b)).or_default().push(f.at(import));
            }
        }
    }
    let reach: Vec<BTreeSet<usize>> = (0..files.len())
        .map(|start| {
            let (mut seen, mut stack) = (BTreeSet::new(), vec![start]);
            while let Some(v) = stack.pop() {
                stack.extend(edges.keys().filter(|(a, b)| *a == v && seen.insert(*b)).map(|(_, b)| *b));
            }
            seen
        })
        .collect();
    let together = |u: usize, v: usize| u == v || (reach[v].contains(&u) && reach[u].contains(&v));
    let components: BTreeSet<Vec<usize>> =
        (0..files.len()).map(|v| (0..files.len()).filter(|&u| together(u, v)).collect()).collect();
    let cycles = components.into_iter().filter(|c| c.len() > 1);
    cycles
        .map(|c| {
            let names: Vec<&str> = c.iter().map(|&k| files[k].name.as_str()).collect();
            let ties = edges.iter().filter(|((a, b), _)| c.contains(a) && c.contains(b));
            let ties: Vec<String> = ties.flat_map(|(_, paths)| paths.clone()).collect();
            format!("import cycle between {}:\n    {}", names.join(", "), ties.join("\n    "))
        })
        .collect()
}

/// Panics with every failure, one a line, if there is any.
fn assert_none(what: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "{} {what}:\n{}\n", failures.len(), failures.join("\n"));
}

#[test]
fn every_source_file_is_in_a_layer() {
    assert_none("file(s) in no layer of tests/layers.rs", unplaced(&read_tree()));
}

#[test]
fn no_module_imports_a_higher_layer() {
    assert_none("import(s) across layers", layer_violations(&read_tree()));
}

#[test]
fn modules_form_no_cycle() {
    assert_none("import cycle(s)", cycles(&read_tree()));
}

/// The paths of `text` in the file `name`, resolved: (`crate::…`, in a test block).
fn paths(name: &str, text: &str) -> Vec<(String, bool)> {
    let imports = SourceFile::new(name, text).imports;
    imports.iter().map(|i| (format!("crate::{}", i.target.join("::")), i.in_test)).collect()
}

#[test]
fn strings_comments_and_chars_hold_no_paths() {
    let text = r##"let url = "https://x.org // crate::a"; // crate::b
/* /* crate::c */ crate::d */ let q = '"'; let p = '\''; let r = r#"crate::e "x" "#;
fn f<'a>(x: &'a str) {} pub(crate) fn g() { $crate::h }
/// crate::i
//! crate::j
use crate::model::hub;"##;
    assert_eq!(paths("src/data/x.rs", text), [("crate::model::hub".to_string(), false)]);
    assert_eq!(SourceFile::new("src/data/x.rs", text).imports[0].line, 6);
    assert_eq!(strip(r#"a // b"#).iter().collect::<String>(), "a     ");
    assert_eq!(strip(r#"'{' "c\"" '\''"#).iter().collect::<String>(), r#"' ' "   " '  '"#);
}

#[test]
fn groups_expressions_and_relative_paths_resolve() {
    let grouped = "use crate::{a::b, c};
use crate::model::{self, hub, fill_mask::{FillMask as F}};
let x = crate::model::hub::offline_mode()?; let y = crate::m::Gen::<u8>::new();";
    let expected =
        ["a::b", "c", "model", "model::hub", "model::fill_mask::FillMask", "model::hub::offline_mode", "m::Gen"];
    assert_eq!(paths("src/data/x.rs", grouped), expected.map(|p| (format!("crate::{p}"), false)));
    let relative = "use super::data::Row;
use self::inner::*;
pub mod groups { use super::Group; }
#[cfg(test)]
mod tests { use super::*; use super::super::seat; }";
    let expected = [
        ("crate::measure::suites::data::Row", false),
        ("crate::measure::suites::crows_pairs::inner::*", false),
        ("crate::measure::suites::crows_pairs::Group", false),
        ("crate::measure::suites::crows_pairs::*", true),
        ("crate::measure::suites::seat", true),
    ];
    assert_eq!(paths("src/measure/suites/crows_pairs.rs", relative), expected.map(|(p, t)| (p.to_string(), t)));
}

#[test]
fn the_checks_find_upward_imports_re_exports_and_cycles() {
    let files = [
        SourceFile::new("src/model/mod.rs", "pub mod a; pub use a::A; use crate::model::b::B;"),
        SourceFile::new("src/model/a.rs", "use crate::model::b::B; use crate::teach::T; use crate::Error;"),
        SourceFile::new("src/model/b.rs", "use crate::model::A;\nfn f() { crate::model::a::g() }"),
        SourceFile::new("src/data/x.rs", "use crate::view::chart; use crate::error::Error; use super::super::x;"),
        SourceFile::new("src/x.rs", ""),
    ];
    assert_eq!(unplaced(&files), ["src/x.rs: in no layer: put it in a layer folder and add it to the table"]);
    let violations = [
        "src/model/a.rs:1: imports crate::teach::T (layer 6) from layer 2 (model)",
        "src/model/a.rs:1: imports crate::Error: use the canonical path (crate::<room>::...), not a root re-export",
        "src/data/x.rs:1: imports crate::view::chart (layer 1) from data: they must not meet",
        "src/data/x.rs:1: imports super::super::x (crate::x): `x` is in no layer",
    ];
    assert_eq!(layer_violations(&files), violations);
    let cycle = "import cycle between src/model/a.rs, src/model/b.rs:\n    \
                 src/model/a.rs:1: imports crate::model::b::B\n    src/model/b.rs:2: imports crate::model::a::g";
    assert_eq!(cycles(&files), [cycle]);
}
