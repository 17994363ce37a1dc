//! Link settings of `bbs-client` (the server and bench are left as they are), to keep a
//! line-mode session's resident memory small (docs/performance.md, "The client's memory"):
//! - non-PIE on Linux: a position-independent executable is relocated at every start, which
//!   reads all of `.rela.dyn` and writes every page of `.data.rel.ro` (1.3 MB resident);
//! - with rust-lld (the default linker of x86_64 Linux since Rust 1.90), the functions a
//!   line session runs, listed in `src/bin/bbs-client.order` by `scripts/client-layout.sh`,
//!   are placed together: the kernel maps code in 64 KiB blocks around each page touched,
//!   so code spread over the binary keeps nearly all of it resident. Names the build no
//!   longer has are skipped, so a stale list costs memory, never correctness.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let order = Path::new("src/bin/bbs-client.order");
    println!("cargo:rerun-if-changed={}", order.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bin=bbs-client=-no-pie");
    if links_with_rust_lld() && order.exists() {
        let path = std::env::current_dir()
            .map(|d| d.join(order))
            .unwrap_or_else(|_| order.to_path_buf());
        println!(
            "cargo:rustc-link-arg-bin=bbs-client=-Wl,--symbol-ordering-file={}",
            path.display()
        );
        println!("cargo:rustc-link-arg-bin=bbs-client=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc links this target with its bundled lld by default (x86_64 Linux GNU from
/// 1.90) and nothing overrides the linker.
fn links_with_rust_lld() -> bool {
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (...)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
