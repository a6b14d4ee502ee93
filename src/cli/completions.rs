//! `neurodyn completions SHELL`: the shell's completion script, generated from the
//! same clap definition the command line parses with, so it cannot fall behind.

use super::failure::Failure;
use clap::CommandFactory;

#[derive(clap::Args)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell
    shell: clap_complete::Shell,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, "neurodyn", &mut std::io::stdout());
    Ok(0)
}
