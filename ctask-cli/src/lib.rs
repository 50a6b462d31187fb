//! The `ctask` command line as a library: [`main`] takes the arguments and returns the exit code.

/// Runs the CLI with `args` (the first one is the program name) and returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let _ = args;
    0
}
