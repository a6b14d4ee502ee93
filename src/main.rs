//! The neurodyn command line; `neurodyn::cli` holds all of it, so that the Python
//! package's `neurodyn` command is the same program.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` should end the program quietly, as it does for other
    // command-line tools, not panic in println! on the closed pipe: restore SIGPIPE's
    // default action, which Rust sets to ignore.
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    ExitCode::from(neurodyn::cli::main(std::env::args_os().collect()))
}
