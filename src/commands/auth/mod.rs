//! `kestractl auth …`: credentials in the OS keyring (login, logout, status, show), moving
//! plain-text passwords into it (import-env, import-kestractl), and rotation of the managed
//! stack's credentials (rotate). Each command is one file here, with its arguments; the keyring
//! itself is `credentials::store`, the imports `credentials::import`, rotation `crate::rotation`.

mod import_env;
mod import_kestractl;
mod login;
mod logout;
mod rotate;
mod show;
mod status;

use crate::commands::group;
use crate::credentials::store;
use crate::settings::stack::StackSettings;
use crate::settings::{self, Settings};

group! {
    /// Credentials: the OS keyring (login, logout, status, show), imports, rotation
    pub enum Command {
        Login(login::Args),
        Logout(logout::Args),
        Status(status::Args),
        Show(show::Args),
        ImportEnv(import_env::Args),
        ImportKestractl(import_kestractl::Args),
        Rotate(rotate::Args),
    }
}

fn server_of(s: &Settings) -> String {
    settings::display_url(&s.server.value)
}

/// The managed stack's Postgres entry.
fn db_entry_of(stack: &StackSettings) -> String {
    store::db_entry(&stack.kestra_container.value, &stack.db_user.value)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::commands::{Cli, Run};
    use crate::signals::Interrupt;

    fn policy(args: &[&str]) -> Interrupt {
        let cli = Cli::try_parse_from(args).unwrap();
        cli.command.interrupt()
    }

    #[test]
    fn rotate_and_import_env_finish_first_and_the_others_stop() {
        for finishing in [
            &["kestractl", "auth", "rotate"][..],
            &["kestractl", "auth", "rotate", "--db", "--dry-run"],
            &["kestractl", "auth", "import-env", "--rewrite-env"],
        ] {
            assert!(
                matches!(policy(finishing), Interrupt::FinishFirst { .. }),
                "{finishing:?}"
            );
        }
        for stopping in [
            &["kestractl", "auth", "login"][..],
            &["kestractl", "auth", "import-kestractl"],
            &["kestractl", "auth", "show", "--reveal"],
        ] {
            assert_eq!(policy(stopping), Interrupt::STOP, "{stopping:?}");
        }
    }
}
