//! Gives the shared library its SONAME, `libctask.so.<major>` from the package version, so
//! programs linked against it keep loading it across compatible releases (`make install`
//! installs `libctask.so.<version>` with the `.so.<major>` and `.so` links).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "netbsd" || os == "openbsd" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libctask.so.{major}");
    }
}
