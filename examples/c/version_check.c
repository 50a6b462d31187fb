/*
 * Checks the version macros of ctask.h, and the version the library reports, against the
 * version in Cargo.toml. The build passes the expected values (the packed number computed
 * from Cargo.toml's version, not copied from the header):
 *   -DEXPECT_VERSION='"X.Y.Z"' -DEXPECT_MAJOR=X -DEXPECT_MINOR=Y -DEXPECT_PATCH=Z
 *   -DEXPECT_NUMBER=<(X << 16) | (Y << 8) | Z>
 */
#include <stdio.h>
#include <string.h>

#include "ctask.h"

#if !defined(EXPECT_VERSION) || !defined(EXPECT_MAJOR) || !defined(EXPECT_MINOR) || \
    !defined(EXPECT_PATCH) || !defined(EXPECT_NUMBER)
#error "EXPECT_VERSION, EXPECT_MAJOR, EXPECT_MINOR, EXPECT_PATCH and EXPECT_NUMBER must be defined"
#endif

_Static_assert(CTASK_VERSION_MAJOR == EXPECT_MAJOR, "CTASK_VERSION_MAJOR differs from Cargo.toml");
_Static_assert(CTASK_VERSION_MINOR == EXPECT_MINOR, "CTASK_VERSION_MINOR differs from Cargo.toml");
_Static_assert(CTASK_VERSION_PATCH == EXPECT_PATCH, "CTASK_VERSION_PATCH differs from Cargo.toml");
_Static_assert(CTASK_VERSION_NUMBER == EXPECT_NUMBER,
               "CTASK_VERSION_NUMBER differs from the number computed from Cargo.toml");

int main(void) {
    int failed = 0;
    if (strcmp(ctask_version(), EXPECT_VERSION) != 0) {
        fprintf(stderr, "ctask_version() is %s, Cargo.toml says %s\n", ctask_version(),
                EXPECT_VERSION);
        failed++;
    }
    if (ctask_abi_version() != CTASK_ABI_VERSION) {
        fprintf(stderr, "ctask_abi_version() is %u, the header says %u\n",
                (unsigned)ctask_abi_version(), (unsigned)CTASK_ABI_VERSION);
        failed++;
    }
    printf("ctask-version: %d passed, %d failed\n", 6 - failed, failed);
    return failed == 0 ? 0 : 1;
}
