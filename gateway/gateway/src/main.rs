//! The `gateway` command: serve, migrate, manage users and tokens, verify
//! the audit trail. All logic lives in the library; this is the shell.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
