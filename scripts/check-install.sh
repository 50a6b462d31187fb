#!/usr/bin/env bash
# Checks a `make install` tree (make install-test runs it):
#
#   check-install.sh PREFIX VERSION [STAGE STAGE_PREFIX]
#
# PREFIX was installed with `make install PREFIX=PREFIX`: every expected file and link is
# there, the shared library's SONAME is libctask.so.<major>, the man pages and completion
# scripts are the ones of the installed ctask, and a C program built as docs/c-api.md says
# (cc prog.c $(pkg-config --cflags --libs ctask)) runs a real session without
# LD_LIBRARY_PATH. STAGE was installed with `make install-files DESTDIR=STAGE
# PREFIX=STAGE_PREFIX`: everything lies under STAGE/STAGE_PREFIX and ctask.pc names
# STAGE_PREFIX, not the staging directory.
set -uo pipefail

prefix=$1
version=$2
stage=${3:-}
stage_prefix=${4:-}
major=${version%%.*}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # check DESCRIPTION COMMAND…
    local what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "check-install: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/out" >&2
    fi
}
is_file() { [[ -f $1 && ! -L $1 ]] || { echo "not a regular file: $1"; return 1; }; }
is_link_to() { [[ -L $1 && $(readlink "$1") == "$2" ]] || { echo "$1 -> $(readlink "$1" 2>&1), want $2"; return 1; }; }
contains() { grep -qF -- "$2" "$1" || { echo "$1 lacks: $2"; head -5 "$1"; return 1; }; }

echo "check-install: the tree under $prefix:"
(cd "$prefix" && find . -mindepth 1 | LC_ALL=C sort | sed 's/^\.\//  /')

lib=$prefix/lib
check "bin/ctask is executable" test -x "$prefix/bin/ctask"
check "bin/ctask is version $version" contains <("$prefix/bin/ctask" --version) "$version"
check "lib/libctask.so.$version is the real file" is_file "$lib/libctask.so.$version"
check "lib/libctask.so.$major links to it" is_link_to "$lib/libctask.so.$major" "libctask.so.$version"
check "lib/libctask.so (for -lctask) links to .so.$major" is_link_to "$lib/libctask.so" "libctask.so.$major"
check "lib/libctask.a" is_file "$lib/libctask.a"
check "include/ctask.h" cmp "$prefix/include/ctask.h" "$here/include/ctask.h"
check "lib/pkgconfig/ctask.pc" is_file "$lib/pkgconfig/ctask.pc"
readelf -d "$lib/libctask.so.$version" >"$tmp/dynamic" 2>&1
check "the SONAME is libctask.so.$major" contains "$tmp/dynamic" "Library soname: [libctask.so.$major]"

# Man pages: ctask.1 and one per (visible) subcommand, nested ones included.
man=$prefix/share/man/man1
check "share/man/man1/ctask.1" contains "$man/ctask.1" ".TH ctask 1"
subs=$("$prefix/bin/ctask" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "help" && NF {print $1}')
check "the help lists subcommands" test -n "$subs"
for sub in $subs agents-check; do
    check "share/man/man1/ctask-$sub.1" contains "$man/ctask-$sub.1" ".TH ctask-$sub 1"
done
check "no man page for a hidden command" test ! -e "$man/ctask-__man.1"

# Completion scripts, in the places bash-completion, zsh and fish look.
share=$prefix/share
check "bash completion" contains "$share/bash-completion/completions/ctask" "_CTASK_COMPLETE=\"bash\""
check "bash completion parses" bash -n "$share/bash-completion/completions/ctask"
check "zsh completion" contains "$share/zsh/site-functions/_ctask" "#compdef ctask"
if command -v zsh >/dev/null; then
    check "zsh completion parses" zsh -n "$share/zsh/site-functions/_ctask"
fi
check "fish completion" contains "$share/fish/vendor_completions.d/ctask.fish" "_CTASK_COMPLETE=fish ctask"

# The installed completion, with the installed ctask found on PATH, completes a slug.
export CTASK_ROOT=$tmp/root XDG_CONFIG_HOME=$tmp/config HOME=$tmp
unset CTASK_PROJECT_ROOT CTASK_WORKSPACE CTASK_LAUNCH_DIR CTASK_SESSION_MODE \
    CTASK_SEED_DIR CTASK_SEED_PROJECT_DIR
"$prefix/bin/ctask" -q new --no-launch "installed check" >/dev/null
PATH="$prefix/bin:$PATH" bash -c '
source "$1"
COMP_WORDS=(ctask info inst); COMP_CWORD=2; COMP_TYPE=9
_clap_complete_ctask ctask inst info
printf "%s\n" "${COMPREPLY[@]}"' check "$share/bash-completion/completions/ctask" >"$tmp/completed" 2>&1
check "the installed bash completion offers the workspace" contains "$tmp/completed" "installed-check"

# pkg-config of the installed prefix, and a C program built the documented way.
export PKG_CONFIG_PATH=$lib/pkgconfig
unset LD_LIBRARY_PATH PKG_CONFIG_LIBDIR
check "pkg-config --modversion ctask is $version" test "$(pkg-config --modversion ctask)" = "$version"
check "ctask.pc carries the rpath" contains <(pkg-config --libs ctask) "-Wl,-rpath,$lib"
check "cc prog.c \$(pkg-config --cflags --libs ctask) builds" \
    cc -std=c11 -Wall "$here/examples/c/example.c" -o "$tmp/example" $(pkg-config --cflags --libs ctask)
readelf -d "$tmp/example" >"$tmp/needed" 2>&1
check "the program needs libctask.so.$major (the SONAME)" contains "$tmp/needed" "Shared library: [libctask.so.$major]"
check "the program loads the installed library" contains <(ldd "$tmp/example") "$lib/libctask.so.$major"
if bash "$here/examples/c/interop.sh" "$tmp/example" "$prefix/bin/ctask" >"$tmp/interop" 2>&1; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "check-install: FAIL: a session from the installed program (no LD_LIBRARY_PATH)" >&2
    sed 's/^/    /' "$tmp/interop" >&2
fi

# DESTDIR staging: everything under STAGE/STAGE_PREFIX, which ctask.pc names.
if [[ -n $stage ]]; then
    top=${stage_prefix#/}
    top=${top%%/*}
    check "DESTDIR: nothing outside STAGE_PREFIX" test "$(cd "$stage" && find . -mindepth 1 -maxdepth 1)" = "./$top"
    check "DESTDIR: bin/ctask" test -x "$stage$stage_prefix/bin/ctask"
    check "DESTDIR: the SONAME link" is_link_to "$stage$stage_prefix/lib/libctask.so.$major" "libctask.so.$version"
    check "DESTDIR: ctask.pc names PREFIX" contains "$stage$stage_prefix/lib/pkgconfig/ctask.pc" "prefix=$stage_prefix"
    check "DESTDIR: ctask.pc does not name the staging directory" bash -c "! grep -qF -- '$stage' '$stage$stage_prefix/lib/pkgconfig/ctask.pc'"
    check "DESTDIR: man pages" test -f "$stage$stage_prefix/share/man/man1/ctask-new.1"
fi

echo "check-install: $passed passed, $failed failed"
[[ $failed == 0 ]]
