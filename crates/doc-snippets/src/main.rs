//! `doc-snippet NAME` runs the Rust block named NAME of README.md or docs/*.md (its `main`);
//! `doc-snippet --list` lists them. `tests/doc_snippets.py` (`make test-docs`) runs each, with an
//! engine where the block is a plugin. The blocks are compiled here, so a block that stops
//! compiling breaks the build.

/// A block of the documentation: its name, where it is, and its `main`.
pub struct Snippet {
    /// The name in its info string (```` ```rust NAME ````).
    pub name: &'static str,
    /// `file:line` of its opening fence.
    pub at: &'static str,
    /// The block's own `main`.
    pub main: fn() -> Result<(), Box<dyn std::error::Error>>,
}

mod snippets {
    use super::Snippet;
    include!(concat!(env!("OUT_DIR"), "/snippets.rs"));
}

fn main() -> std::process::ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    if arg == "--list" {
        for s in snippets::SNIPPETS {
            println!("{}\t{}", s.name, s.at);
        }
        return std::process::ExitCode::SUCCESS;
    }
    let Some(s) = snippets::SNIPPETS.iter().find(|s| s.name == arg) else {
        eprintln!("doc-snippet: no Rust block named {arg:?} (doc-snippet --list lists them)");
        return std::process::ExitCode::from(2);
    };
    match (s.main)() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("doc-snippet {} ({}): {e}", s.name, s.at);
            std::process::ExitCode::from(1)
        }
    }
}
