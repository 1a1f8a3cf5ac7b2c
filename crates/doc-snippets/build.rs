//! Extracts every ```` ```rust NAME ```` block of README.md and docs/*.md into a module of its
//! own (`OUT_DIR/snippets.rs`), with a table of the blocks for `doc-snippet`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut docs: Vec<PathBuf> = vec![root.join("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    guides.sort();
    docs.extend(guides);
    println!("cargo:rerun-if-changed={}", root.join("docs").display());

    let mut modules = String::new();
    let mut table = String::from(
        "/// Every block: (name, file:line, its `main`).\npub const SNIPPETS: &[Snippet] = &[\n",
    );
    for doc in &docs {
        println!("cargo:rerun-if-changed={}", doc.display());
        let text = std::fs::read_to_string(doc).expect("a readable document");
        let file = doc.strip_prefix(&root).unwrap_or(doc).display().to_string();
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            let Some(info) = line.strip_prefix("```") else {
                continue;
            };
            let mut words = info.split_whitespace();
            let lang = words.next().unwrap_or("");
            let name = words.next();
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.starts_with("```"))
                .collect();
            if lang != "rust" {
                continue;
            }
            let Some(name) = name else {
                panic!(
                    "{file}:{}: a ```rust block without a name (```rust NAME)",
                    n + 1
                );
            };
            let module = name.replace('-', "_");
            writeln!(
                modules,
                "pub mod {module} {{\n{}\n\n/// The block's `main`.\npub fn entry() -> Result<(), Box<dyn std::error::Error>> {{\n    main()\n}}\n}}",
                body.join("\n")
            )
            .unwrap();
            writeln!(
                table,
                "    Snippet {{ name: {name:?}, at: \"{file}:{}\", main: {module}::entry }},",
                n + 1
            )
            .unwrap();
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("snippets.rs");
    std::fs::write(out, modules + &table).expect("OUT_DIR is writable");
}
