//! The `ctask` binary: a thin wrapper over [`ctask_cli::main`].

fn main() {
    std::process::exit(ctask_cli::main(std::env::args_os().collect()));
}
