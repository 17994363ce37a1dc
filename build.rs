//! Link settings of `bbs-client` (the server and bench are left as they are), to keep a
//! line-mode session's resident memory small (docs/performance.md, "The client's memory"):
//! - non-PIE on Linux: a position-independent executable is relocated at every start, which
//!   reads all of `.rela.dyn` and writes every page of `.data.rel.ro` (1.3 MB resident);
//! - the functions a line session runs, listed in `src/bin/bbs-client.order` by
//!   `scripts/client-layout.sh`, are placed together at the start of the code by a linker
//!   script written here: the kernel maps code in 64 KiB blocks around each page touched,
//!   so code spread over the binary keeps nearly all of it resident. A name the build no
//!   longer has matches nothing, so a stale list costs memory, never correctness: the
//!   script matches each name with any LLVM suffix (`.llvm.<n>`, which changes with every
//!   edit nearby), and then, after every exact name, with any hash (`17h<hash>E`, which
//!   changes with the toolchain and the crates' features), so that a list made before a
//!   dependency update still gathers most of the code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let order = Path::new("src/bin/bbs-client.order");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bin=bbs-client=-no-pie");
    // scripts/client-layout.sh profiles a binary without the layout (valgrind names only
    // the functions in `.text`).
    println!("cargo:rerun-if-env-changed=BBS_CLIENT_LAYOUT");
    if !default_linker() || std::env::var("BBS_CLIENT_LAYOUT").as_deref() == Ok("0") {
        return;
    }
    let (Ok(list), Some(out)) = (
        std::fs::read_to_string(order),
        std::env::var_os("OUT_DIR").map(PathBuf::from),
    ) else {
        return;
    };
    let script = out.join("bbs-client-layout.ld");
    if std::fs::write(&script, linker_script(&list)).is_ok() {
        println!(
            "cargo:rustc-link-arg-bin=bbs-client=-Wl,-T,{}",
            script.display()
        );
    }
}

/// An `INSERT` script (it adds to the linker's default layout, GNU ld and lld alike): one
/// output section before `.text` holding the listed functions' sections (rustc gives each
/// function its own `.text.<symbol>` section, `.text.unlikely.<symbol>` when it is cold).
fn linker_script(list: &str) -> String {
    let names: Vec<&str> = list.lines().map(str::trim).filter(|l| is_name(l)).collect();
    let any_hash: Vec<String> = names.iter().filter_map(|n| without_hash(n)).collect();
    let mut s = String::from("SECTIONS\n{\n  .text.line : {\n");
    for name in names
        .iter()
        .copied()
        .chain(any_hash.iter().map(String::as_str))
    {
        let _ = writeln!(s, "    *(.text.{name}* .text.unlikely.{name}*)");
    }
    s.push_str("  }\n}\nINSERT BEFORE .text;\n");
    s
}

/// `name` with the hash of a Rust symbol (`17h` and 16 hex digits before the final `E`)
/// made a wildcard.
fn without_hash(name: &str) -> Option<String> {
    let at = name.rfind("17h")?;
    let hash = name.get(at + 3..at + 19)?;
    (hash.chars().all(|c| c.is_ascii_hexdigit()) && name.get(at + 19..at + 20) == Some("E"))
        .then(|| format!("{}17h*{}", &name[..at], &name[at + 19..]))
}

/// A symbol name the script can hold unquoted.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

/// Whether the link uses the target's default linker (GNU ld or rust-lld, which both take
/// `INSERT` scripts), not one set in the environment or the flags.
fn default_linker() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    !flags.contains("linker")
        && std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_none()
}
