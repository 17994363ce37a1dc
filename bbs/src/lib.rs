//! The BBS crate.
