//! Names people can tell apart (Unicode TR39), shared by account names (the broker's
//! credential store) and board names (the BBS record policy): the one place that computes
//! a name's confusable skeleton and decides whether a new name is acceptable.
//!
//! A new name must be in NFC, hold no control, bidi or invisible character (zero-width
//! characters, fillers, variation selectors, unusual spaces), no leading, trailing or
//! double space, must not look like an existing name, and must not mix scripts the way
//! TR39 flags (its restriction level must be at most "moderately restrictive": Latin with
//! Cyrillic or Greek is refused, Latin with Han/Kana/Hangul is fine), nor use compatibility
//! forms such as fullwidth letters. Two names look alike when one of their [`keys`] is
//! equal: the TR39 skeleton taken after case folding, or case folding taken after the
//! skeleton (so `Alice`, `аlice`, `ａｌｉｃｅ`, `alıce` and `ΝΡ`/`NP` all collide).

use unicode_normalization::{is_nfc, UnicodeNormalization};
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

/// The two comparison keys of a name: `[skeleton(fold(n)), fold(skeleton(n))]` where `n`
/// is the NFC form with invisible characters removed. Two names look alike when their
/// first keys or their second keys are equal.
pub fn keys(name: &str) -> [String; 2] {
    let n: String = name.nfc().filter(|&c| !is_invisible(c)).collect();
    let folded_first: String =
        unicode_security::skeleton(&caseless::default_case_fold_str(&n)).collect();
    let skeleton: String = unicode_security::skeleton(&n).collect();
    let skeleton_first = caseless::default_case_fold_str(&skeleton);
    // Fold once more so that both keys are stable under case (the skeleton may map to
    // capitals, e.g. the Greek capitals map to Latin ones).
    [
        caseless::default_case_fold_str(&folded_first),
        unicode_security::skeleton(&skeleton_first).collect(),
    ]
}

/// True for characters that show nothing (or nothing distinguishable) on a terminal:
/// zero-width characters, joiners, fillers, variation selectors, tags, the soft hyphen,
/// bidi controls and every space other than U+0020.
pub fn is_invisible(c: char) -> bool {
    crate::is_bidi_control(c)
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2065}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The form rules every new name must meet on its own (`what` is "user name", "board
/// name", ...): no control or invisible character, no leading/trailing/double space, NFC.
pub fn check_form(what: &str, name: &str) -> Result<(), String> {
    if let Some(c) = name.chars().find(|&c| c.is_control() || is_invisible(c)) {
        return Err(format!(
            "the {what} contains the invisible or control character U+{:04X}",
            u32::from(c)
        ));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(format!("the {what} may not start or end with a space"));
    }
    if name.contains("  ") {
        return Err(format!("the {what} may not hold two spaces in a row"));
    }
    if !is_nfc(name) {
        let nfc: String = name.nfc().collect();
        return Err(format!(
            "the {what} is not in Unicode NFC form; write it as {nfc:?}"
        ));
    }
    Ok(())
}

/// The script rules (TR39): no compatibility forms (fullwidth letters, ligatures) and no
/// mixed-script name that TR39 flags (restriction level above moderately restrictive).
pub fn check_scripts(what: &str, name: &str) -> Result<(), String> {
    let nfkc: String = name.nfkc().collect();
    if nfkc != name {
        return Err(format!(
            "the {what} uses compatibility characters (e.g. fullwidth letters); write it as {nfkc:?}"
        ));
    }
    // Punctuation, digits and spaces are common to every script: judge only the letters.
    let letters: String = name.chars().filter(|c| c.is_alphabetic()).collect();
    let level = letters.as_str().detect_restriction_level();
    if level > RestrictionLevel::ModeratelyRestrictive {
        return Err(format!(
            "the {what} mixes scripts in a way that can deceive (e.g. Latin with Cyrillic or Greek)"
        ));
    }
    Ok(())
}

/// Decides on a new name: the form rules, then whether it looks like an existing one
/// (`existing` answers the name that has one of the given keys, if any), then the script
/// rules. The error says why, e.g. "looks like the existing board NP".
pub fn check_new(
    what: &str,
    name: &str,
    existing: impl Fn(&[String; 2]) -> Option<String>,
) -> Result<(), String> {
    check_form(what, name)?;
    if let Some(other) = existing(&keys(name)) {
        if other == name {
            return Err(format!("{what} {name} already exists"));
        }
        return Err(format!(
            "the {what} {name:?} looks like the existing {} {other}",
            what.trim_end_matches(" name")
        ));
    }
    check_scripts(what, name)
}

/// Whether two names look alike.
pub fn alike(a: &str, b: &str) -> bool {
    let (ka, kb) = (keys(a), keys(b));
    ka[0] == kb[0] || ka[1] == kb[1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_collide() {
        for (a, b) in [
            ("alice", "Alice"),
            ("alice", "аlice"),
            ("alice", "ａｌｉｃｅ"),
            ("alice", "alıce"),
            ("alice", "ALICE"),
            ("NP", "N\u{200b}P"),
            ("NP", "ΝΡ"),
            ("NP", "np"),
            ("Ilse", "llse"),
            ("Ilse", "ilse"),
            ("modem", "rnodem"),
            ("e\u{301}lodie", "élodie"),
        ] {
            assert!(alike(a, b), "{a:?} vs {b:?}");
        }
        for (a, b) in [
            ("alice", "bob"),
            ("小明", "測試"),
            ("NP", "NPHW"),
            ("NP_HW", "NP-HW"),
        ] {
            assert!(!alike(a, b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn cjk_and_plain_names_are_accepted() {
        for n in [
            "小明",
            "測試",
            "alice",
            "NP_HW",
            "李小龍",
            "ユーザー",
            "김철수",
            "élodie",
            "NP 作業",
            "a b",
        ] {
            assert_eq!(check_new("board name", n, |_| None), Ok(()), "{n}");
        }
    }

    #[test]
    fn deceptive_names_are_refused_with_a_reason() {
        for (n, why) in [
            ("N\u{200b}P", "invisible"),
            ("a\u{202e}b", "invisible"),
            ("NP ", "start or end with a space"),
            (" NP", "start or end with a space"),
            ("N  P", "two spaces"),
            ("N\u{3000}P", "invisible"),
            ("e\u{301}lodie", "NFC"),
            ("ａｌｉｃｅ", "compatibility"),
            ("аlice", "mixes scripts"),
            ("pаypal", "mixes scripts"),
            ("a\x1bb", "control"),
        ] {
            let e = check_new("user name", n, |_| None).expect_err("refused");
            assert!(e.contains(why), "{n:?}: {e}");
        }
        let taken = keys("NP");
        let e = check_new("board name", "ΝΡ", |k| {
            (k[0] == taken[0] || k[1] == taken[1]).then(|| "NP".to_string())
        })
        .expect_err("a look-alike");
        assert!(e.contains("looks like the existing board NP"), "{e}");
    }
}
