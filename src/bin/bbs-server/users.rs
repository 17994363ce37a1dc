//! `bbs-server users ...`: the operator's account commands. With the server stopped they
//! edit the data directory's credential log directly, holding the data directory lock
//! (the server takes the same lock, so the two never write at once). With the server
//! running (the lock is taken) they log in to it over the Kafka protocol as the operator,
//! using the secret the server wrote to `<data>/operator.secret`. Passwords come from
//! stdin's first line or a prompt on a terminal, never from the command line.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{bail, Context, Result};
use broker::auth::operator::{read_secret, OPERATOR_USER};
use broker::auth::scram::{ScramKeys, DEFAULT_ITERATIONS};
use broker::auth::{names, CredentialStore};
use broker::data_lock::DirLock;
use broker::handlers::quotas::{DISABLED_KEY, RETIRED_KEY};
use broker::log::{FlushPolicy, Flusher};
use clap::Subcommand;
use client::{Client, ClientConfig};

use crate::pending_emails;
use crate::users_import as import;

/// What to do to accounts.
#[derive(Subcommand, Debug)]
pub(crate) enum UsersAction {
    /// List accounts and whether they are enabled.
    List,
    /// Create an account (password from stdin or a prompt).
    Add {
        /// The account name.
        name: String,
        /// The user's e-mail address, written into their profile.
        #[arg(long)]
        email: Option<String>,
    },
    /// Create accounts from a CSV file of `name,email[,password]` lines; prints a
    /// generated password for lines without one. Existing accounts are left alone, so
    /// running it twice is safe.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Stop an account from logging in (keeps its data).
    Disable {
        /// The account name.
        name: String,
    },
    /// Let a disabled account log in again.
    Enable {
        /// The account name.
        name: String,
    },
    /// Delete an account's credentials; its name stays retired (never registered again)
    /// until `release`.
    Remove {
        /// The account name.
        name: String,
    },
    /// Let a retired name (of a removed account) be registered again, by anyone.
    Release {
        /// The retired name.
        name: String,
    },
    /// Set a new password (from stdin or a prompt).
    ResetPassword {
        /// The account name.
        name: String,
    },
}

/// Where the accounts are edited.
pub(crate) enum Backend {
    /// The server is stopped: the credential log (the caller holds the directory lock).
    Local(Box<CredentialStore>),
    /// The server runs: its Kafka listener, logged in as the operator (the accounts are
    /// the client's admin SCRAM and quota calls).
    Remote(Client),
}

fn read_password(name: &str) -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("New password for {name}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        if p != again {
            bail!("the passwords differ");
        }
        p
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

async fn open(dir: &Path) -> Result<(Backend, Option<DirLock>)> {
    match DirLock::acquire(dir) {
        Ok(lock) => {
            let flusher =
                Flusher::start(FlushPolicy::Always).context("starting the flusher thread")?;
            let store = CredentialStore::open(&dir.join("internal"), flusher)
                .context("opening the credential log")?;
            Ok((Backend::Local(Box::new(store)), Some(lock)))
        }
        Err(broker::Error::Locked(_)) => {
            let (secret, addr) = read_secret(dir)
                .context("the server is running but its operator secret is unreadable")?;
            let config = ClientConfig::new(&addr)
                .client_id("bbs-users")
                .sasl_scram(OPERATOR_USER, &secret);
            let client = Client::connect(config)
                .context("logging in to the running server as the operator")?;
            Ok((Backend::Remote(client), None))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs one `users` command against the data directory `dir`.
pub(crate) async fn run(dir: &Path, action: UsersAction) -> Result<()> {
    let (mut backend, _lock) = open(dir).await?;
    match (&mut backend, action) {
        (Backend::Local(store), UsersAction::List) => {
            for (name, a) in store.list() {
                println!(
                    "{name}\t{}",
                    if a.disabled { "disabled" } else { "enabled" }
                );
            }
            for (name, _) in store.retired() {
                println!("{name}\tretired");
            }
        }
        (Backend::Remote(c), UsersAction::List) => {
            let admin = c.admin();
            let quotas = admin.describe_user_quotas()?;
            for a in admin.describe_scram_users()? {
                // Any quota entry on a listed account is its disabled flag.
                let disabled = quotas.iter().any(|q| q.user == a.name);
                println!(
                    "{}\t{}",
                    a.name,
                    if disabled { "disabled" } else { "enabled" }
                );
            }
        }
        (b, UsersAction::Add { name, email }) => {
            names::validate_account_name(&name).map_err(anyhow::Error::msg)?;
            if exists(b, &name).await? {
                bail!("user {name} already exists");
            }
            let password = read_password(&name)?;
            add(b, dir, &name, email.as_deref().unwrap_or(""), &password).await?;
            println!("added {name}");
        }
        (b, UsersAction::Import { file }) => import::run(b, dir, &file).await?,
        (b, UsersAction::ResetPassword { name }) => {
            let exists = match b {
                Backend::Local(s) => s.get(&name).is_some(),
                Backend::Remote(c) => c.admin().scram_user_exists(&name)?,
            };
            if !exists {
                bail!("no user {name}");
            }
            let password = read_password(&name)?;
            match b {
                Backend::Local(s) => {
                    let keys = ScramKeys::from_password(password.as_bytes(), DEFAULT_ITERATIONS)?;
                    s.update(&name, |a| a.keys = keys).await?
                }
                Backend::Remote(c) => c.admin().set_scram_password(&name, &password)?,
            }
            println!("password of {name} reset");
        }
        (b, UsersAction::Disable { name }) => {
            set_disabled(b, &name, true).await?;
            println!("disabled {name}");
        }
        (b, UsersAction::Enable { name }) => {
            set_disabled(b, &name, false).await?;
            println!("enabled {name}");
        }
        (b, UsersAction::Remove { name }) => {
            match b {
                Backend::Local(s) => s.remove(&name).await?,
                Backend::Remote(c) => c.admin().delete_scram_credential(&name)?,
            }
            println!("removed {name} (the name stays retired until `users release {name}`)");
        }
        (b, UsersAction::Release { name }) => {
            match b {
                Backend::Local(s) => s.release(&name).await?,
                Backend::Remote(c) => c.admin().alter_user_quota(&name, RETIRED_KEY, None)?,
            }
            println!("released {name}");
        }
    }
    Ok(())
}

async fn set_disabled(b: &mut Backend, name: &str, disabled: bool) -> Result<()> {
    match b {
        Backend::Local(s) => s.update(name, |a| a.disabled = disabled).await?,
        Backend::Remote(c) => {
            c.admin()
                .alter_user_quota(name, DISABLED_KEY, disabled.then_some(1.0))?
        }
    }
    Ok(())
}

/// Whether `name` has an account.
pub(crate) async fn exists(b: &mut Backend, name: &str) -> Result<bool> {
    Ok(match b {
        Backend::Local(s) => s.get(name).is_some(),
        Backend::Remote(c) => c.admin().scram_user_exists(name)?,
    })
}

/// Creates the account `name`. Offline the e-mail address is kept in
/// `DIR/pending-emails.tsv` and the server writes the profile at its next start; online the server writes the
/// profile as it creates the account, and the address is then set by logging in as the
/// new user (a user may update their own profile).
pub(crate) async fn add(
    b: &mut Backend,
    dir: &Path,
    name: &str,
    email: &str,
    password: &str,
) -> Result<()> {
    match b {
        Backend::Local(s) => {
            s.create(
                name,
                ScramKeys::from_password(password.as_bytes(), DEFAULT_ITERATIONS)?,
            )
            .await?;
            if !email.is_empty() {
                pending_emails::add(dir, name, email)?;
            }
        }
        Backend::Remote(c) => {
            c.admin().set_scram_password(name, password)?;
            if !email.is_empty() {
                set_email_online(dir, name, email, password).await?;
            }
        }
    }
    Ok(())
}

/// Logs in to the running server as `name` and writes its profile with `email`.
async fn set_email_online(dir: &Path, name: &str, email: &str, password: &str) -> Result<()> {
    use bbs::backend::Backend as _;
    let (_, addr) = read_secret(dir).context("reading the running server's address")?;
    let (name, email, password) = (name.to_string(), email.to_string(), password.to_string());
    tokio::task::spawn_blocking(move || -> Result<()> {
        let backend = bbs::backend::kafka::KafkaBackend::new(&addr);
        let mut link = backend.connect()?;
        link.login(&name, &password)?;
        link.append(bbs::codec::Entry::new(bbs::codec::BbsRecord::User {
            name: name.clone(),
            email,
        }))?;
        let _ = link.logout();
        Ok(())
    })
    .await
    .context("setting the e-mail address")?
}
