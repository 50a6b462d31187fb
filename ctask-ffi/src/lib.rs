//! C ABI of ctask (`libctask`), described by `include/ctask.h`.
//!
//! Only argument checking, the panic boundary and JSON translation live here.

use std::ffi::c_char;

/// NUL-terminated copy of the crate version, static for the life of the program.
static VERSION_CSTR: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the library version ("MAJOR.MINOR.PATCH") as a static string.
///
/// The string is owned by the library and must never be freed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ctask_version() -> *const c_char {
    VERSION_CSTR.as_ptr().cast()
}
