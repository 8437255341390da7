//! The layer rule of the library, checked on its source: every `crate::` path in `src/` (outside
//! `#[cfg(test)]` blocks and comments) may only point to a module of a lower layer, or to its own
//! module; inside `arch/`, families only import the trait and families below them. A new upward
//! import or an import cycle between layers fails this test with the file and the path.

use std::path::{Path, PathBuf};

/// Top-level modules of the library, by layer (0 = bottom).
const LAYERS: &[(&str, usize)] = &[
    ("error", 0),
    ("algebra", 1),
    ("fourier", 1),
    ("observe", 1),
    ("tensors", 1),
    ("loss", 1),
    ("resources", 1),
    ("data", 2),
    ("patches", 3),
    ("patterns", 4),
    ("program", 5),
    ("cones", 6),
    ("solver", 7),
    ("certify", 8),
    ("network", 9),
    ("recovery", 10),
    ("nonconvex", 11),
    ("arch", 12),
    ("export", 13),
    ("settings", 14),
    ("compare", 15),
];

/// Folders of `arch/`, by layer: the trait first, then the families (a family may build on one
/// below it: three-layer reports the two-layer optimum, the shared head tiles local windows).
const FAMILIES: &[(&str, usize)] = &[
    ("traits", 0),
    ("two_layer", 1),
    ("linear", 2),
    ("local_pool", 2),
    ("circular", 2),
    ("three_layer", 2),
    ("shared", 3),
    // Reads every family's saved tensors back.
    ("load", 4),
];

fn rank(table: &[(&str, usize)], name: &str) -> Option<usize> {
    table.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without test modules, comments and string literals.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::new();
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        // Drop string literals (messages may mention module names).
        let mut in_str = false;
        let mut prev = ' ';
        for ch in line.chars() {
            if ch == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(ch);
            }
            prev = ch;
        }
        out.push('\n');
    }
    out
}

/// The identifiers after each `crate::` (the first path segment, and the second one for
/// `crate::arch::`), including those inside `crate::{…}` groups.
fn targets(code: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let p = part.trim();
                let first = ident(p);
                let second = p
                    .strip_prefix(&format!("{first}::"))
                    .map(ident)
                    .filter(|s| !s.is_empty());
                if !first.is_empty() {
                    out.push((first, second));
                }
            }
            continue;
        }
        let first = ident(rest);
        let second = rest
            .strip_prefix(&format!("{first}::"))
            .map(ident)
            .filter(|s| !s.is_empty());
        out.push((first, second));
    }
    out
}

#[test]
fn library_imports_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(all.len() > 40, "found only {} source files", all.len());
    let mut faults = Vec::new();
    for f in &all {
        let rel = f.strip_prefix(&root).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let module = parts[0].as_str();
        if module == "lib" {
            continue;
        }
        let own = rank(LAYERS, module)
            .unwrap_or_else(|| panic!("{}: module {module} has no layer", rel.display()));
        let family =
            (module == "arch" && parts.len() > 1 && parts[1] != "mod").then(|| parts[1].clone());
        for (first, second) in targets(&code(&std::fs::read_to_string(f).unwrap())) {
            let Some(r) = rank(LAYERS, &first) else {
                continue; // crate::Error, crate::Result and other re-exported names
            };
            if first != module && r >= own {
                faults.push(format!(
                    "{}: crate::{first} (layer {r}) from layer {own}",
                    rel.display()
                ));
            }
            if let (Some(fam), "arch", Some(target)) = (&family, first.as_str(), &second) {
                let (Some(a), Some(b)) = (rank(FAMILIES, fam), rank(FAMILIES, target)) else {
                    continue;
                };
                if fam != target && b >= a {
                    faults.push(format!(
                        "{}: crate::arch::{target} from the family {fam}",
                        rel.display()
                    ));
                }
            }
        }
    }
    assert!(
        faults.is_empty(),
        "imports that point up:\n{}",
        faults.join("\n")
    );
}

#[test]
fn the_checker_sees_upward_imports() {
    // The parser itself: an upward path, a grouped path, paths in comments and strings.
    let src = "use crate::export::fit_files;\nuse crate::{arch::traits, data};\n// crate::export\nlet s = \"crate::export\";\n#[cfg(test)]\nuse crate::arch;";
    let t = targets(&code(src));
    assert_eq!(
        t,
        vec![
            ("export".to_string(), Some("fit_files".to_string())),
            ("arch".to_string(), Some("traits".to_string())),
            ("data".to_string(), None),
        ]
    );
}
