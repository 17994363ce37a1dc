//! `bbs-server users import FILE`: accounts for a class from a CSV file of
//! `name,email[,password]` lines. Blank lines, `#` comments and a `name,...` header are
//! skipped. A line without a password gets a generated one, printed in the report (the
//! only place it is shown). Existing accounts are left alone, so importing the same file
//! again changes nothing. Every line gets one line of report; the command fails at the
//! end if any line did.

use std::path::Path;

use anyhow::{bail, Context, Result};
use broker::auth::names;

use crate::users::{add, exists, Backend};

/// Letters and digits that cannot be misread (no 0/O, 1/l/I) for generated passwords.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random 12-character password from [`ALPHABET`].
fn generate_password() -> Result<String> {
    let bytes = broker::auth::scram::random_bytes(12)?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// One parsed line: name, e-mail, password (if given).
fn parse(line: &str) -> Result<(String, String, Option<String>), String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    match fields.as_slice() {
        [name, email] => Ok((name.to_string(), email.to_string(), None)),
        [name, email, password] if !password.is_empty() => Ok((
            name.to_string(),
            email.to_string(),
            Some(password.to_string()),
        )),
        [name, email, _] => Ok((name.to_string(), email.to_string(), None)),
        _ => Err(format!(
            "expected name,email[,password], found {} fields",
            fields.len()
        )),
    }
}

/// Imports `file` into `b`, printing one report line per CSV line.
pub(crate) async fn run(b: &mut Backend, dir: &Path, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let (mut added, mut kept, mut failed) = (0, 0, 0);
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, email, password) = match parse(line) {
            Ok(p) => p,
            Err(e) => {
                println!("line {n}: error: {e}");
                failed += 1;
                continue;
            }
        };
        if n == 1 && name.eq_ignore_ascii_case("name") {
            continue;
        }
        if let Err(e) = names::validate_account_name(&name) {
            println!("line {n}: {name}: error: {e}");
            failed += 1;
            continue;
        }
        match exists(b, &name).await {
            Ok(true) => {
                println!("line {n}: {name}: exists, left alone");
                kept += 1;
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                println!("line {n}: {name}: error: {e:#}");
                failed += 1;
                continue;
            }
        }
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => (generate_password()?, true),
        };
        match add(b, dir, &name, &email, &password).await {
            Ok(()) if generated => {
                println!("line {n}: {name}: added, password {password}");
                added += 1;
            }
            Ok(()) => {
                println!("line {n}: {name}: added");
                added += 1;
            }
            Err(e) => {
                println!("line {n}: {name}: error: {e:#}");
                failed += 1;
            }
        }
    }
    println!("{added} added, {kept} already existed, {failed} failed");
    if failed > 0 {
        bail!("{failed} lines failed");
    }
    Ok(())
}
