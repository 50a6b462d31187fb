/*
 * A small libctask client: wraps a visit to a workspace in a recorded session, the way an
 * editor plugin would around the agent it launches.
 *
 *   example WORKSPACE_DIR [--hold]
 *
 * Prints "session <id>" when the session has begun. With --hold it then waits for a line
 * on standard input (so that another program can look at the live session) before ending
 * it; without, it ends at once. Finally it prints the session's summary JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctask.h"

/* Reports the last failure of this thread and returns an exit status for it. */
static int fail(const char *what, ctask_status status) {
    fprintf(stderr, "example: %s failed (status %d): %s\n", what, (int)status, ctask_last_error());
    return status == CTASK_ERR_ACTIVE_SESSION ? 3 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--hold") != 0)) {
        fprintf(stderr, "usage: %s WORKSPACE_DIR [--hold]\n", argv[0]);
        return 2;
    }
    if (ctask_abi_version() != CTASK_ABI_VERSION) {
        fprintf(stderr, "example: libctask %s has ABI %u, this program needs %u\n",
                ctask_version(), (unsigned)ctask_abi_version(), (unsigned)CTASK_ABI_VERSION);
        return 1;
    }

    ctask_session *session = NULL;
    ctask_status st = ctask_session_begin(argv[1], "{\"agent\": \"c-example\"}", &session);
    if (st != CTASK_OK) {
        return fail("begin", st);
    }

    char *info = NULL;
    st = ctask_session_info_json(session, &info);
    if (st != CTASK_OK) {
        ctask_session_free(session); /* ends it as abandoned */
        return fail("info", st);
    }
    fprintf(stderr, "example: session info:\n%s\n", info);
    ctask_string_free(info);

    /* The id is also in the info JSON; the environment for a child is under "env". */
    char *status_json = NULL;
    st = ctask_workspace_status(argv[1], NULL, &status_json);
    if (st == CTASK_OK) {
        const char *id = strstr(status_json, "\"session_id\": \"");
        if (id != NULL) {
            id += strlen("\"session_id\": \"");
            printf("session %.*s\n", (int)strcspn(id, "\""), id);
            fflush(stdout);
        }
        ctask_string_free(status_json);
    }

    if (argc == 3) {
        char line[64];
        if (fgets(line, sizeof line, stdin) == NULL) {
            fprintf(stderr, "example: end of input; ending the session\n");
        }
    }

    char *summary = NULL;
    st = ctask_session_end(session, 0, &summary);
    if (st != CTASK_OK) {
        ctask_session_free(session);
        return fail("end", st);
    }
    printf("%s\n", summary);
    ctask_string_free(summary);
    ctask_session_free(session);
    return 0;
}
