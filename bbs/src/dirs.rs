//! Where bbs keeps files on this machine, by the platform's conventions (XDG on Linux,
//! `~/Library` on macOS, `%APPDATA%` on Windows): one project directory set named `bbs`
//! for the client's config file, its local state and logs, and the server's default data
//! directory. `None` everywhere when there is no home directory to derive them from.

use std::path::PathBuf;

use directories::ProjectDirs;

/// The platform's directories for `bbs`.
fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "bbs")
}

/// Where `bbs-client.toml` lives.
pub fn config_dir() -> Option<PathBuf> {
    project().map(|d| d.config_dir().to_path_buf())
}

/// Where the client's local state (drafts, last server, theme) lives: machine-local data,
/// never roamed.
pub fn data_dir() -> Option<PathBuf> {
    project().map(|d| d.data_local_dir().to_path_buf())
}

/// Where the client's log files go.
pub fn log_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("logs"))
}

/// The server's data directory when neither `--data-dir` nor the config names one.
pub fn server_data_dir() -> Option<PathBuf> {
    project().map(|d| d.data_dir().join("server"))
}
