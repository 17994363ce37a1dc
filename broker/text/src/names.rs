//! Account names: what a user may be called. Names are 1-32 characters of letters (any
//! script, so CJK names work), digits, `_`, `-` and `.`; no spaces or control characters;
//! a leading `__` is reserved for the broker's own principals.

/// The reserved SCRAM user name of the operator (the broker accepts the operator secret
/// for it; the BBS shows its posts and acts as "the operator"). Its leading `__` keeps
/// [`validate_account_name`] from accepting it for an account.
pub const OPERATOR_USER: &str = "__operator";

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Checks a proposed account name; the error says what is wrong.
pub fn validate_account_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err("the name is empty".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "the name has {chars} characters; at most {MAX_NAME_CHARS} are allowed"
        ));
    }
    if name.starts_with("__") {
        return Err("names starting with '__' are reserved".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "the name may hold only letters, digits, '_', '-' and '.', not {c:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for n in [
            "alice",
            "Bob_2",
            "a.b-c",
            "李小龍",
            "ユーザー",
            "김철수",
            "élodie",
            "x",
        ] {
            assert!(validate_account_name(n).is_ok(), "{n}");
        }
        assert!(validate_account_name(&"字".repeat(32)).is_ok());
    }

    #[test]
    fn bad_names() {
        for n in [
            "",
            "a b",
            "tab\there",
            "new\nline",
            "__operator",
            "semi;colon",
            "a/b",
            "a,b",
            "nul\0",
            "emoji😀",
            "x=y",
        ] {
            assert!(validate_account_name(n).is_err(), "{n:?}");
        }
        assert!(validate_account_name(&"a".repeat(33)).is_err());
    }
}
