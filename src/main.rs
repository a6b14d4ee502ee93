//! The neurodyn command line; `neurodyn::cli` holds all of it, so that the Python
//! package's `neurodyn` command is the same program.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(neurodyn::cli::main(std::env::args_os().collect()))
}
