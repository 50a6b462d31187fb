/*
 * Test program for libctask: every exported function, and every error path a C caller can
 * reach (NULL arguments, non-UTF-8 strings, paths that are not workspaces, a busy
 * workspace, malformed and unknown options, bad manifests, unsafe paths, a held write
 * lock), and a detached persistent session against a private tmux server (the `ctask`
 * executable named by CTASK_TEST_SUPERVISOR supervises it). Meant to run under valgrind;
 * prints "N passed, N failed" and exits non-zero on any failure.
 */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctask.h"

static int passed;
static int failed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__,       \
                    #cond, ctask_last_error());                                            \
        }                                                                                  \
    } while (0)

#define CHECK_STATUS(call, expected) CHECK((call) == (expected))

/* A marker that out-parameters must keep when a call fails. */
static char untouched_mark[] = "untouched";
#define UNTOUCHED untouched_mark

static char root[256];

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* The string value of the first `"key": "..."` in pretty JSON (no escapes expected). */
static int json_string(const char *json, const char *key, char *buf, size_t size) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *p = json ? strstr(json, pattern) : NULL;
    if (p == NULL) {
        return 0;
    }
    p += strlen(pattern);
    const char *end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= size) {
        return 0;
    }
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = '\0';
    return 1;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Creates a workspace titled `title` under the test root; its path goes to `path`. */
static void create_workspace(const char *title, char *path, size_t size) {
    char opts[512];
    char *json = NULL;
    snprintf(opts, sizeof opts, "{\"title\": \"%s\", \"root\": \"%s/tasks\"}", title, root);
    if (ctask_workspace_create(opts, &json) != CTASK_OK || !json_string(json, "path", path, size)) {
        fprintf(stderr, "cannot create workspace %s: %s\n", title, ctask_last_error());
        exit(2);
    }
    ctask_string_free(json);
}

static void test_version(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", CTASK_VERSION_MAJOR, CTASK_VERSION_MINOR,
             CTASK_VERSION_PATCH);
    CHECK(strcmp(ctask_version(), expected) == 0);
    CHECK(ctask_version() == ctask_version()); /* static, never freed */
    CHECK(ctask_abi_version() == CTASK_ABI_VERSION);
    /* The header's version number against the loaded library's own version string. */
    int major = -1, minor = -1, patch = -1;
    CHECK(sscanf(ctask_version(), "%d.%d.%d", &major, &minor, &patch) == 3);
    CHECK(CTASK_VERSION_NUMBER == ((major << 16) | (minor << 8) | patch));
}

static void test_no_error_yet(void) {
    char *json = NULL;
    CHECK(strcmp(ctask_last_error(), "") == 0);
    CHECK_STATUS(ctask_last_error_json(&json), CTASK_OK);
    CHECK(contains(json, "\"name\": \"CTASK_OK\""));
    ctask_string_free(json);
}

static void test_null_arguments(const char *ws) {
    char *out = UNTOUCHED;
    ctask_session *s = (ctask_session *)UNTOUCHED;

    CHECK_STATUS(ctask_last_error_json(NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "out_json"));

    CHECK_STATUS(ctask_session_begin(NULL, NULL, &s), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`dir`"));
    CHECK(s == (ctask_session *)UNTOUCHED);
    CHECK_STATUS(ctask_session_begin(ws, NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`out`"));

    CHECK_STATUS(ctask_session_info_json(NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`session`"));
    CHECK_STATUS(ctask_session_heartbeat(NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_session_end(NULL, 0, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_session_end(NULL, 0, NULL), CTASK_ERR_NULL_ARGUMENT);

    CHECK_STATUS(ctask_workspace_create(NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_resolve(NULL, NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`query`"));
    CHECK_STATUS(ctask_workspace_resolve("x", NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_list(NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_status(NULL, NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_status(ws, NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_diff(NULL, NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_workspace_diff(ws, NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_manifest_capture(NULL, NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_manifest_capture(ws, NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_diff(NULL, "[]", &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "before_json"));
    CHECK_STATUS(ctask_diff("[]", NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    CHECK(contains(ctask_last_error(), "after_json"));
    CHECK_STATUS(ctask_diff("[]", "[]", NULL), CTASK_ERR_NULL_ARGUMENT);

    CHECK(out == UNTOUCHED);
    CHECK(s == (ctask_session *)UNTOUCHED);

    /* The structured form names the argument too. */
    char *json = NULL;
    CHECK_STATUS(ctask_last_error_json(&json), CTASK_OK);
    CHECK(contains(json, "\"name\": \"CTASK_ERR_NULL_ARGUMENT\""));
    CHECK(contains(json, "\"argument\": \"out_json\""));
    ctask_string_free(json);

    ctask_string_free(NULL);
    ctask_session_free(NULL);
}

static void test_invalid_utf8(const char *ws) {
    const char bad[] = {'/', 't', 'm', 'p', '/', (char)0xff, (char)0xfe, '\0'};
    char *out = UNTOUCHED;
    ctask_session *s = NULL;

    CHECK_STATUS(ctask_session_begin(bad, NULL, &s), CTASK_ERR_INVALID_UTF8);
    CHECK(contains(ctask_last_error(), "`dir`"));
    CHECK(s == NULL);
    CHECK_STATUS(ctask_session_begin(ws, bad, &s), CTASK_ERR_INVALID_UTF8);
    CHECK(contains(ctask_last_error(), "options_json"));
    CHECK_STATUS(ctask_workspace_status(bad, NULL, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_workspace_resolve(bad, NULL, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_workspace_create(bad, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_workspace_list(bad, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_workspace_diff(bad, NULL, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_manifest_capture(bad, NULL, &out), CTASK_ERR_INVALID_UTF8);
    CHECK_STATUS(ctask_diff(bad, "[]", &out), CTASK_ERR_INVALID_UTF8);
    CHECK(out == UNTOUCHED);
    CHECK(s == NULL);
}

static void test_not_a_workspace(void) {
    char *out = UNTOUCHED;
    ctask_session *s = NULL;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/does-not-exist", root);

    CHECK_STATUS(ctask_session_begin(root, NULL, &s), CTASK_ERR_NOT_FOUND);
    CHECK(contains(ctask_last_error(), root));
    CHECK(s == NULL);
    CHECK_STATUS(ctask_session_begin(missing, NULL, &s), CTASK_ERR_NOT_FOUND);
    CHECK_STATUS(ctask_workspace_status(root, NULL, &out), CTASK_ERR_NOT_FOUND);
    CHECK_STATUS(ctask_workspace_diff(root, NULL, &out), CTASK_ERR_NOT_FOUND);
    CHECK_STATUS(ctask_manifest_capture(missing, NULL, &out), CTASK_ERR_NOT_FOUND);
    CHECK(out == UNTOUCHED);
    CHECK(s == NULL);
}

static void test_bad_options(const char *ws) {
    char *out = UNTOUCHED;
    ctask_session *s = NULL;

    CHECK_STATUS(ctask_session_begin(ws, "{\"agent\": ", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "options_json"));
    CHECK_STATUS(ctask_session_begin(ws, "", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws, "[1, 2]", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws, "{\"agnet\": \"x\"}", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "agnet"));
    CHECK_STATUS(ctask_session_begin(ws, "{\"force\": \"yes\"}", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws, "{\"on_active\": \"wait\"}", &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "wait"));
    CHECK_STATUS(ctask_session_begin(ws, "{\"mode\": \"tmux\"}", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`mode`"));
    CHECK_STATUS(ctask_session_begin(ws, "{\"agent\": \"\"}", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(
        ctask_session_begin(ws, "{\"heartbeat_seconds\": 40, \"stale_after_seconds\": 60}", &s),
        CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws, "{\"env\": {\"A=B\": \"1\"}}", &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);

    CHECK_STATUS(ctask_workspace_create("{\"titel\": \"x\"}", &out), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "titel"));
    CHECK_STATUS(ctask_workspace_create("not json", &out), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_workspace_list("{\"al\": true}", &out), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_workspace_resolve("x", "{", &out), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_workspace_status(ws, "{\"stale_after_seconds\": -1}", &out),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_workspace_status(ws, "{\"stale_after_seconds\": 0}", &out),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_workspace_diff(ws, "{\"ignore\": 1}", &out), CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_manifest_capture(ws, "{\"respect_ignore\": 1}", &out),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(out == UNTOUCHED);

    char *json = NULL;
    CHECK_STATUS(ctask_last_error_json(&json), CTASK_OK);
    CHECK(contains(json, "\"argument\": \"options_json\""));
    ctask_string_free(json);
}

static void test_workspaces(char *ws, size_t size) {
    char *json = NULL;
    char opts[512];
    char other[512];

    create_workspace("Alpha one", ws, size);
    create_workspace("Alpha two", other, sizeof other);
    snprintf(opts, sizeof opts, "{\"root\": \"%s/tasks\"}", root);

    CHECK_STATUS(ctask_workspace_resolve("alpha-one", opts, &json), CTASK_OK);
    CHECK(contains(json, "\"slug\": \"alpha-one\""));
    CHECK(contains(json, ws));
    ctask_string_free(json);

    json = UNTOUCHED;
    CHECK_STATUS(ctask_workspace_resolve("alpha", opts, &json), CTASK_ERR_AMBIGUOUS);
    CHECK(json == UNTOUCHED);
    CHECK_STATUS(ctask_last_error_json(&json), CTASK_OK);
    CHECK(contains(json, "\"candidates\""));
    CHECK(contains(json, ws));
    CHECK(contains(json, other));
    ctask_string_free(json);

    json = UNTOUCHED;
    CHECK_STATUS(ctask_workspace_resolve("no-such-thing", opts, &json), CTASK_ERR_NOT_FOUND);
    CHECK(contains(ctask_last_error(), "no-such-thing"));
    CHECK(json == UNTOUCHED);

    CHECK_STATUS(ctask_workspace_list(opts, &json), CTASK_OK);
    CHECK(json != NULL && json[0] == '[');
    CHECK(contains(json, "alpha-one") && contains(json, "alpha-two"));
    ctask_string_free(json);

    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"none\""));
    ctask_string_free(json);

    CHECK_STATUS(ctask_workspace_diff(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"baseline\": \"none\""));
    ctask_string_free(json);
}

/* Agent state: set inside a session (by its id), seen by the status; refused with nothing
 * written outside one. */
static void test_state(const char *ws) {
    ctask_session *s = NULL;
    char *json = (char *)UNTOUCHED;
    char id[128];
    char opts[512];

    /* No session: refused, and nothing returned. */
    CHECK_STATUS(ctask_set_state(ws, "{\"state\": \"working\"}", &json),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(json == (char *)UNTOUCHED);
    CHECK(contains(ctask_last_error(), "no session is running"));
    CHECK_STATUS(ctask_set_state(ws, NULL, &json), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`state`"));

    CHECK_STATUS(ctask_session_begin(ws, "{\"agent\": \"c-state\"}", &s), CTASK_OK);
    if (s == NULL) {
        return;
    }
    CHECK_STATUS(ctask_session_info_json(s, &json), CTASK_OK);
    CHECK(json_string(json, "session_id", id, sizeof id));
    ctask_string_free(json);

    snprintf(opts, sizeof opts,
             "{\"state\": \"waiting\", \"message\": \"Approve the plan?\", "
             "\"session_id\": \"%s\"}",
             id);
    CHECK_STATUS(ctask_set_state(ws, opts, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"waiting\""));
    CHECK(contains(json, id));
    ctask_string_free(json);

    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"agent_state\": \"waiting\""));
    CHECK(contains(json, "\"agent_message\": \"Approve the plan?\""));
    CHECK(contains(json, "\"agent_state_age_s\""));
    ctask_string_free(json);

    /* A message with a newline is refused; the state stays as it was. */
    json = (char *)UNTOUCHED;
    CHECK_STATUS(ctask_set_state(ws, "{\"state\": \"idle\", \"message\": \"a\\nb\"}", &json),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(json == (char *)UNTOUCHED);
    CHECK(contains(ctask_last_error(), "control character"));
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"agent_state\": \"waiting\""));
    ctask_string_free(json);

    CHECK_STATUS(ctask_set_state(ws, "{\"state\": \"done\"}", &json), CTASK_OK);
    ctask_string_free(json);
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"agent_state\": \"done\""));
    CHECK(!contains(json, "agent_message"));
    ctask_string_free(json);

    CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
    ctask_session_free(s);
}

struct thread_result {
    ctask_status status;
    int own_message;
};

static void *fail_in_thread(void *arg) {
    struct thread_result *r = arg;
    char *out = NULL;
    r->status = ctask_workspace_resolve(NULL, NULL, &out);
    r->own_message = contains(ctask_last_error(), "`query`");
    return NULL;
}

static void test_thread_local_errors(void) {
    char *out = NULL;
    CHECK_STATUS(ctask_workspace_status(NULL, NULL, &out), CTASK_ERR_NULL_ARGUMENT);
    pthread_t t;
    struct thread_result r = {CTASK_OK, 0};
    CHECK(pthread_create(&t, NULL, fail_in_thread, &r) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(r.status == CTASK_ERR_NULL_ARGUMENT);
    CHECK(r.own_message);
    /* This thread still sees its own failure. */
    CHECK(contains(ctask_last_error(), "`dir`"));
}

static void test_session(const char *ws) {
    ctask_session *s = NULL;
    ctask_session *busy = (ctask_session *)UNTOUCHED;
    ctask_session *co = NULL;
    char *json = NULL;
    char id[128];
    char buf[128];

    CHECK_STATUS(ctask_session_begin(ws,
                                     "{\"agent\": \"c-test\", \"heartbeat_seconds\": 1, "
                                     "\"stale_after_seconds\": 60, \"env\": {\"EXTRA\": \"1\"}}",
                                     &s),
                 CTASK_OK);
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }

    CHECK_STATUS(ctask_session_info_json(s, &json), CTASK_OK);
    CHECK(json_string(json, "session_id", id, sizeof id));
    CHECK(contains(json, "\"role\": \"owner\""));
    CHECK(contains(json, "\"ended\": false"));
    CHECK(contains(json, "\"CTASK_SESSION_ID\""));
    CHECK(contains(json, "\"EXTRA\": \"1\""));
    CHECK(json_string(json, "launch_dir", buf, sizeof buf) && strcmp(buf, ws) == 0);
    ctask_string_free(json);

    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"active\""));
    CHECK(contains(json, id));
    CHECK(contains(json, "\"agent\": \"c-test\""));
    ctask_string_free(json);

    CHECK_STATUS(ctask_session_heartbeat(s), CTASK_OK);

    /* Busy: a second begin in the same workspace. */
    CHECK_STATUS(ctask_session_begin(ws, NULL, &busy), CTASK_ERR_ACTIVE_SESSION);
    CHECK(busy == (ctask_session *)UNTOUCHED);
    CHECK(contains(ctask_last_error(), id));
    CHECK_STATUS(ctask_last_error_json(&json), CTASK_OK);
    CHECK(contains(json, "\"name\": \"CTASK_ERR_ACTIVE_SESSION\""));
    CHECK(contains(json, "\"owner\""));
    snprintf(buf, sizeof buf, "\"pid\": %ld", (long)getpid());
    CHECK(contains(json, buf));
    ctask_string_free(json);
    CHECK_STATUS(ctask_session_begin(ws, "{\"on_active\": \"error\", \"force\": false}", &busy),
                 CTASK_ERR_ACTIVE_SESSION);

    /* Coexisting beside the owner. */
    CHECK_STATUS(ctask_session_begin(ws, "{\"on_active\": \"coexist\", \"agent\": \"guest\"}", &co),
                 CTASK_OK);
    if (co != NULL) {
        CHECK_STATUS(ctask_session_info_json(co, &json), CTASK_OK);
        CHECK(contains(json, "\"role\": \"coexist\""));
        CHECK(contains(json, "\"owner\""));
        ctask_string_free(json);
        CHECK_STATUS(ctask_session_heartbeat(co), CTASK_OK);
        CHECK_STATUS(ctask_session_end(co, 0, NULL), CTASK_OK);
        ctask_session_free(co);
    }

    write_file(ws, "result.txt", "made by the C test\n");

    char *summary = NULL;
    CHECK_STATUS(ctask_session_end(s, 3, &summary), CTASK_OK);
    CHECK(contains(summary, id));
    CHECK(contains(summary, "\"exit_code\": 3"));
    CHECK(contains(summary, "\"end_reason\": \"child_exited\""));
    CHECK(contains(summary, "\"result.txt\""));
    CHECK(contains(summary, "\"agent\": \"c-test\""));
    CHECK(!contains(summary, "end_manifest\":"));
    ctask_string_free(summary);

    /* A second end succeeds and writes nothing. */
    char *again = UNTOUCHED;
    CHECK_STATUS(ctask_session_end(s, 0, &again), CTASK_OK);
    CHECK(again == UNTOUCHED);
    CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
    CHECK_STATUS(ctask_session_heartbeat(s), CTASK_OK);

    CHECK_STATUS(ctask_session_info_json(s, &json), CTASK_OK);
    CHECK(contains(json, "\"ended\": true"));
    ctask_string_free(json);
    ctask_session_free(s);

    CHECK_STATUS(ctask_workspace_status(ws, "{\"stale_after_seconds\": 30}", &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"none\""));
    CHECK(contains(json, "\"last_summary\""));
    CHECK(contains(json, id));
    ctask_string_free(json);

    CHECK_STATUS(ctask_workspace_diff(ws, "{\"respect_ignore\": true}", &json), CTASK_OK);
    CHECK(contains(json, "\"baseline\": \"last_session\""));
    CHECK(contains(json, id));
    ctask_string_free(json);

    /* The next session sees the previous one. */
    CHECK_STATUS(ctask_session_begin(ws, "{\"heartbeat\": false}", &s), CTASK_OK);
    if (s != NULL) {
        CHECK_STATUS(ctask_session_info_json(s, &json), CTASK_OK);
        CHECK(contains(json, "\"last_summary\""));
        CHECK(contains(json, "\"outside_changes\""));
        ctask_string_free(json);
        CHECK_STATUS(ctask_session_heartbeat(s), CTASK_OK);
        /* Freed without an end: ended as abandoned. */
        ctask_session_free(s);
    }
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"none\""));
    CHECK(contains(json, "\"end_reason\": \"abandoned\""));
    ctask_string_free(json);
}

static void test_manifests(const char *ws) {
    char *before = NULL;
    char *after = NULL;
    char *json = NULL;

    CHECK_STATUS(ctask_manifest_capture(ws, NULL, &before), CTASK_OK);
    CHECK(contains(before, "\"captured_at\""));
    CHECK(contains(before, "\"path\": \"result.txt\""));
    CHECK(!contains(before, "task.yaml"));

    write_file(ws, "result.txt", "changed\n");
    write_file(ws, "new.txt", "new\n");
    CHECK_STATUS(ctask_manifest_capture(ws, "{\"respect_ignore\": false}", &after), CTASK_OK);

    CHECK_STATUS(ctask_diff(before, after, &json), CTASK_OK);
    CHECK(contains(json, "\"added\": [\n    \"new.txt\"\n  ]"));
    CHECK(contains(json, "\"modified\": [\n    \"result.txt\"\n  ]"));
    ctask_string_free(json);

    CHECK_STATUS(ctask_diff(after, after, &json), CTASK_OK);
    CHECK(contains(json, "\"added\": []"));
    ctask_string_free(json);

    /* A bare array of entries (a summary's end_manifest) is accepted too. */
    CHECK_STATUS(ctask_diff("[]", "[{\"path\": \"a\", \"size\": 1, "
                                  "\"mtime\": \"2026-01-01T00:00:00Z\"}]",
                            &json),
                 CTASK_OK);
    CHECK(contains(json, "\"a\""));
    ctask_string_free(json);

    json = UNTOUCHED;
    CHECK_STATUS(ctask_diff("{\"files\": 3}", after, &json), CTASK_ERR_BAD_FORMAT);
    CHECK(contains(ctask_last_error(), "before_json"));
    CHECK_STATUS(ctask_diff(before, "{", &json), CTASK_ERR_BAD_FORMAT);
    CHECK(contains(ctask_last_error(), "after_json"));
    CHECK_STATUS(ctask_diff("[{\"path\": \"../x\", \"size\": 1, \"mtime\": \"2026-01-01T00:00:00Z\"}]",
                            "[]", &json),
                 CTASK_ERR_BAD_FORMAT);
    CHECK(json == UNTOUCHED);

    ctask_string_free(before);
    ctask_string_free(after);
}

static void test_unsafe_and_broken(void) {
    char ws[512];
    char path[600];
    char *out = UNTOUCHED;
    ctask_session *s = NULL;

    create_workspace("Unsafe paths", ws, sizeof ws);

    /* A launch directory outside the workspace. */
    CHECK_STATUS(ctask_session_begin(ws, "{\"launch_dir\": \"../elsewhere\"}", &s),
                 CTASK_ERR_PATH_SECURITY);
    CHECK(s == NULL);

    /* .ctask as a symbolic link. */
    snprintf(path, sizeof path, "%s/.ctask", ws);
    CHECK(rmdir(path) == 0);
    CHECK(symlink(root, path) == 0);
    CHECK_STATUS(ctask_session_begin(ws, NULL, &s), CTASK_ERR_PATH_SECURITY);
    CHECK(contains(ctask_last_error(), ".ctask"));
    CHECK(s == NULL);
    CHECK(unlink(path) == 0);
    CHECK(mkdir(path, 0755) == 0);

    /* A write.lock held by a live process (this one) makes begin time out. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char lock[800];
    time_t now = time(NULL);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(lock, sizeof lock, "{\"pid\": %ld, \"hostname\": \"%s\", \"acquired_at\": \"%s\"}",
             (long)getpid(), host, stamp);
    write_file(path, "write.lock", lock);
    CHECK_STATUS(ctask_session_begin(ws, NULL, &s), CTASK_ERR_LOCK_TIMEOUT);
    CHECK(contains(ctask_last_error(), "write.lock"));
    CHECK(s == NULL);
    snprintf(path, sizeof path, "%s/.ctask/write.lock", ws);
    CHECK(unlink(path) == 0);

    /* A corrupt task.yaml is a format error naming the file. */
    write_file(ws, "task.yaml", "schema_version: [\n");
    CHECK_STATUS(ctask_session_begin(ws, NULL, &s), CTASK_ERR_BAD_FORMAT);
    CHECK(contains(ctask_last_error(), "task.yaml"));
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &out), CTASK_ERR_BAD_FORMAT);
    CHECK(s == NULL);
    CHECK(out == UNTOUCHED);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the workspace has no live session and its last summary is session `id`'s;
 * returns the status JSON (free it) or NULL after 30 s. */
static char *wait_for_end(const char *ws, const char *id) {
    for (int i = 0; i < 300; i++) {
        char *json = NULL;
        if (ctask_workspace_status(ws, NULL, &json) == CTASK_OK &&
            contains(json, "\"state\": \"none\"") && contains(json, id)) {
            return json;
        }
        ctask_string_free(json);
        sleep_ms(100);
    }
    return NULL;
}

/* A detached persistent session, its handle, its end by the supervisor, the options of
 * persistent mode, and a missing tmux. */
static void test_persistent(void) {
    const char *supervisor = getenv("CTASK_TEST_SUPERVISOR");
    int ci = getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0;
    if (supervisor == NULL || system("command -v tmux >/dev/null 2>&1") != 0) {
        fprintf(stderr, "%s: persistent session test skipped (%s)\n",
                ci ? "FAIL" : "note",
                supervisor == NULL ? "CTASK_TEST_SUPERVISOR is not set" : "tmux is missing");
        if (ci) {
            failed++;
        }
        return;
    }
    char ws[512];
    char opts[1024];
    char id[128];
    char name[256];
    char tmux_dir[300];
    char *json = (char *)UNTOUCHED;
    ctask_session *s = (ctask_session *)UNTOUCHED;
    create_workspace("Persistent C", ws, sizeof ws);

    /* A private tmux server: the supervisor and tmux inherit this environment. */
    snprintf(tmux_dir, sizeof tmux_dir, "%s/tmux", root);
    mkdir(tmux_dir, 0700);
    setenv("TMUX_TMPDIR", tmux_dir, 1);
    unsetenv("TMUX");

    /* Options: argv is required in persistent mode and refused in direct mode. */
    CHECK_STATUS(ctask_session_begin(ws, "{\"mode\": \"persistent\"}", &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`argv`"));
    CHECK_STATUS(ctask_session_begin(ws, "{\"argv\": [\"sh\"]}", &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`argv`"));
    CHECK_STATUS(ctask_session_begin(ws, "{\"mode\": \"persistent\", \"argv\": \"sh\"}", &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws, "{\"mode\": \"persistent\", \"argv\": []}", &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ctask_session_begin(ws,
                                     "{\"mode\": \"persistent\", \"argv\": [\"sh\"], "
                                     "\"supervisor\": \"/nonexistent/ctask\"}",
                                     &s),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`supervisor`"));
    snprintf(opts, sizeof opts,
             "{\"mode\": \"persistent\", \"argv\": [\"sh\"], \"supervisor\": \"%s\", "
             "\"on_active\": \"coexist\"}",
             supervisor);
    CHECK_STATUS(ctask_session_begin(ws, opts, &s), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "`on_active`"));
    snprintf(opts, sizeof opts,
             "{\"mode\": \"persistent\", \"argv\": [\"no-such-agent-xyz\"], "
             "\"supervisor\": \"%s\"}",
             supervisor);
    CHECK_STATUS(ctask_session_begin(ws, opts, &s), CTASK_ERR_AGENT_NOT_FOUND);
    CHECK(s == (ctask_session *)UNTOUCHED);

    /* Start, describe, and leave it to its supervisor. */
    snprintf(opts, sizeof opts,
             "{\"mode\": \"persistent\", \"argv\": [\"sh\", \"-c\", \"echo hi > f.txt; sleep 2\"], "
             "\"supervisor\": \"%s\", \"agent\": \"c-tmux\", \"heartbeat_seconds\": 1, "
             "\"stale_after_seconds\": 60}",
             supervisor);
    s = NULL;
    CHECK_STATUS(ctask_session_begin(ws, opts, &s), CTASK_OK);
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }
    json = NULL;
    CHECK_STATUS(ctask_session_info_json(s, &json), CTASK_OK);
    CHECK(contains(json, "\"mode\": \"persistent\""));
    CHECK(contains(json, "\"role\": \"supervised\""));
    CHECK(contains(json, "\"supervisor_pid\": "));
    CHECK(contains(json, "\"adopted\": false"));
    CHECK(json_string(json, "session_id", id, sizeof id));
    CHECK(json_string(json, "tmux_session", name, sizeof name) &&
          strncmp(name, "ctask-", 6) == 0);
    ctask_string_free(json);

    json = NULL;
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"active\""));
    CHECK(contains(json, "\"mode\": \"persistent\""));
    CHECK(contains(json, name));
    CHECK(contains(json, id));
    CHECK(contains(json, "\"agent\": \"c-tmux\""));
    ctask_string_free(json);

    /* The handle only describes the session: heartbeat and end do nothing. */
    char *summary = UNTOUCHED;
    CHECK_STATUS(ctask_session_heartbeat(s), CTASK_OK);
    CHECK_STATUS(ctask_session_end(s, 5, &summary), CTASK_OK);
    CHECK(summary == UNTOUCHED);
    CHECK_STATUS(ctask_session_end(s, 5, NULL), CTASK_OK);
    ctask_session_free(s);
    json = NULL;
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"active\""));
    ctask_string_free(json);

    /* A second start while the supervisor lives is refused. */
    s = (ctask_session *)UNTOUCHED;
    CHECK_STATUS(ctask_session_begin(ws, opts, &s), CTASK_ERR_ACTIVE_SESSION);
    CHECK(s == (ctask_session *)UNTOUCHED);

    /* The supervisor ends it when the agent exits, with nobody attached. */
    json = wait_for_end(ws, id);
    CHECK(json != NULL);
    CHECK(contains(json, "\"tmux_session_ended\""));
    CHECK(contains(json, "\"f.txt\""));
    CHECK(contains(json, "\"exit_code\": 0"));
    ctask_string_free(json);

    /* tmux missing (and the default supervisor: `ctask` on PATH) → CTASK_ERR_TMUX, nothing
     * begun. */
    char bin[300];
    char link[340];
    snprintf(bin, sizeof bin, "%s/bin", root);
    snprintf(link, sizeof link, "%s/ctask", bin);
    mkdir(bin, 0700);
    CHECK(symlink(supervisor, link) == 0);
    const char *old_path = getenv("PATH");
    char *saved_path = strdup(old_path != NULL ? old_path : "/usr/bin:/bin");
    setenv("PATH", bin, 1);
    s = (ctask_session *)UNTOUCHED;
    CHECK_STATUS(ctask_session_begin(ws, "{\"mode\": \"persistent\", \"argv\": [\"sh\"]}", &s),
                 CTASK_ERR_TMUX);
    CHECK(contains(ctask_last_error(), "tmux"));
    CHECK(s == (ctask_session *)UNTOUCHED);
    setenv("PATH", saved_path, 1);
    free(saved_path);
    json = NULL;
    CHECK_STATUS(ctask_workspace_status(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"state\": \"none\""));
    CHECK(contains(json, id));
    ctask_string_free(json);

    /* The ended session left no tmux session behind (exit 1: no such session, or no
     * server at all). */
    char has_session[400];
    snprintf(has_session, sizeof has_session, "tmux has-session -t '=%s' 2>/dev/null", name);
    int has = system(has_session);
    CHECK(has != -1 && WIFEXITED(has) && WEXITSTATUS(has) == 1);
    /* Stops the private server if anything still runs there; cleanup, not a check. */
    if (system("tmux kill-server >/dev/null 2>&1") == -1) {
        perror("tmux kill-server");
    }
    unsetenv("TMUX_TMPDIR");
}

/* Pulls events from `w` (up to 10 s) until one named `name` comes; returns it (free it
 * with ctask_string_free) or NULL. Events of other names are appended to `seen`. */
static char *next_named(ctask_watch *w, const char *name, char *seen, size_t size) {
    char want[64];
    snprintf(want, sizeof want, "\"event\":\"%s\"", name);
    for (int i = 0; i < 100; i++) {
        char *ev = NULL;
        if (ctask_watch_next(w, 100, &ev) != CTASK_OK) {
            fprintf(stderr, "ctask_watch_next: %s\n", ctask_last_error());
            return NULL;
        }
        if (ev == NULL) {
            continue;
        }
        if (contains(ev, want)) {
            return ev;
        }
        strncat(seen, ev, size - strlen(seen) - 1);
        ctask_string_free(ev);
    }
    return NULL;
}

/* The pull loop: a workspace created after the watch began, then a session's start and
 * end, in order; with inotify and by polling. */
static void test_watch(void) {
    char opts[512];
    const char *modes[] = {"false", "true"};
    for (int m = 0; m < 2; m++) {
        snprintf(opts, sizeof opts,
                 "{\"paths\": [\"%s/tasks\"], \"poll\": %s, \"poll_interval_ms\": 100}", root,
                 modes[m]);
        ctask_watch *w = NULL;
        CHECK_STATUS(ctask_watch_open(opts, &w), CTASK_OK);
        char *ev = (char *)UNTOUCHED;
        CHECK_STATUS(ctask_watch_next(w, 0, &ev), CTASK_OK);
        CHECK(ev == NULL); /* nothing happened yet: a timeout is OK with NULL */

        char ws[512];
        char title[32];
        snprintf(title, sizeof title, "watched %d", m);
        create_workspace(title, ws, sizeof ws);
        char seen[4096] = "";
        ev = next_named(w, "created", seen, sizeof seen);
        CHECK(ev != NULL);
        CHECK(contains(ev, ws));
        ctask_string_free(ev);

        ctask_session *s = NULL;
        CHECK_STATUS(ctask_session_begin(ws, "{\"heartbeat\": false, \"agent\": \"c-watch\"}", &s),
                     CTASK_OK);
        CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
        ctask_session_free(s);
        ev = next_named(w, "start", seen, sizeof seen);
        CHECK(ev != NULL);
        CHECK(contains(ev, "\"agent\":\"c-watch\""));
        CHECK(contains(ev, "\"slug\":\"watched-"));
        ctask_string_free(ev);
        ev = next_named(w, "end", seen, sizeof seen);
        CHECK(ev != NULL);
        CHECK(contains(ev, "\"exit\":\"0\""));
        ctask_string_free(ev);
        CHECK(strcmp(seen, "") == 0); /* nothing else, nothing out of order */

        /* Bad calls change nothing. */
        ev = (char *)UNTOUCHED;
        CHECK_STATUS(ctask_watch_next(w, -1, &ev), CTASK_ERR_INVALID_ARGUMENT);
        CHECK(contains(ctask_last_error(), "timeout_ms"));
        CHECK(ev == (char *)UNTOUCHED);
        CHECK_STATUS(ctask_watch_next(NULL, 0, &ev), CTASK_ERR_NULL_ARGUMENT);
        CHECK(contains(ctask_last_error(), "`w`"));
        CHECK_STATUS(ctask_watch_next(w, 0, NULL), CTASK_ERR_NULL_ARGUMENT);
        CHECK(ev == (char *)UNTOUCHED);
        ctask_watch_free(w);
    }
    ctask_watch *w = (ctask_watch *)UNTOUCHED;
    CHECK_STATUS(ctask_watch_open("{\"pathz\": []}", &w), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "pathz"));
    CHECK_STATUS(ctask_watch_open("{\"since\": \"yesterday\"}", &w), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "since"));
    CHECK(w == (ctask_watch *)UNTOUCHED);
    CHECK_STATUS(ctask_watch_open(NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    ctask_watch_free(NULL);
}

/* Snapshots: a session's changes listed by ctask_history and given back by ctask_undo;
 * a second undo is a redo; refused while a session is live; bad arguments. */
static void test_undo(void) {
    char ws[512];
    char path[600];
    char *json = (char *)UNTOUCHED;
    ctask_session *s = NULL;
    struct stat st;
    create_workspace("undo-c", ws, sizeof ws);

    CHECK_STATUS(ctask_session_begin(ws, "{\"heartbeat\": false}", &s), CTASK_OK);
    write_file(ws, "made.txt", "made by the session\n");
    write_file(ws, "notes.md", "rewritten\n");
    CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
    ctask_session_free(s);

    CHECK_STATUS(ctask_history(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"kind\": \"session\""));
    CHECK(contains(json, "\"restorable\": true"));
    ctask_string_free(json);

    json = NULL;
    CHECK_STATUS(ctask_undo(ws, "{\"dry_run\": true}", &json), CTASK_OK);
    CHECK(contains(json, "\"applied\": false"));
    ctask_string_free(json);
    snprintf(path, sizeof path, "%s/made.txt", ws);
    CHECK(stat(path, &st) == 0);

    json = NULL;
    CHECK_STATUS(ctask_undo(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"applied\": true"));
    CHECK(contains(json, "\"action\": \"remove\""));
    ctask_string_free(json);
    CHECK(stat(path, &st) != 0);

    /* Undo again: the undo is undone. */
    json = NULL;
    CHECK_STATUS(ctask_undo(ws, NULL, &json), CTASK_OK);
    CHECK(contains(json, "\"applied\": true"));
    ctask_string_free(json);
    CHECK(stat(path, &st) == 0);

    /* Refused while a session is live; nothing written. */
    CHECK_STATUS(ctask_session_begin(ws, "{\"heartbeat\": false}", &s), CTASK_OK);
    json = (char *)UNTOUCHED;
    CHECK_STATUS(ctask_undo(ws, NULL, &json), CTASK_ERR_ACTIVE_SESSION);
    CHECK(json == (char *)UNTOUCHED);
    CHECK(stat(path, &st) == 0);
    CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
    ctask_session_free(s);

    CHECK_STATUS(ctask_undo(NULL, NULL, &json), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_undo(ws, NULL, NULL), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_history(NULL, NULL, &json), CTASK_ERR_NULL_ARGUMENT);
    CHECK_STATUS(ctask_undo(ws, "{\"sesion_id\": \"x\"}", &json), CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "sesion_id"));
    CHECK_STATUS(ctask_undo(ws, "{\"session_id\": \"no-such-session\"}", &json),
                 CTASK_ERR_INVALID_ARGUMENT);
    CHECK(contains(ctask_last_error(), "no-such-session"));
    CHECK(json == (char *)UNTOUCHED);
}

/* `snapshots: false` in task.yaml: a session begun through the C API stores nothing; the
 * same session in a workspace without it does. */
static void test_snapshots_off(void) {
    const char *titles[] = {"snapshots-off-c", "snapshots-on-c"};
    for (int i = 0; i < 2; i++) {
        char ws[512];
        char path[600];
        ctask_session *s = NULL;
        struct stat st;
        create_workspace(titles[i], ws, sizeof ws);
        if (i == 0) {
            snprintf(path, sizeof path, "%s/task.yaml", ws);
            FILE *f = fopen(path, "a");
            if (f == NULL) {
                perror(path);
                exit(2);
            }
            fputs("snapshots: false\n", f);
            fclose(f);
        }
        CHECK_STATUS(ctask_session_begin(ws, "{\"heartbeat\": false}", &s), CTASK_OK);
        write_file(ws, "made.txt", "made by the session\n");
        CHECK_STATUS(ctask_session_end(s, 0, NULL), CTASK_OK);
        ctask_session_free(s);
        snprintf(path, sizeof path, "%s/.ctask/objects", ws);
        CHECK((stat(path, &st) == 0) == (i == 1));
        snprintf(path, sizeof path, "%s/.ctask/history", ws);
        CHECK((stat(path, &st) == 0) == (i == 1));
    }
}

int main(void) {
    char template[] = "/tmp/ctask-c-test-XXXXXX";
    if (mkdtemp(template) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(root, sizeof root, "%s", template);

    /* A hermetic environment: no user config, no inherited session. */
    char config[300];
    char tasks[300];
    snprintf(config, sizeof config, "%s/config", root);
    snprintf(tasks, sizeof tasks, "%s/tasks", root);
    setenv("XDG_CONFIG_HOME", config, 1);
    setenv("CTASK_ROOT", tasks, 1);
    const char *inherited[] = {"CTASK_PROJECT_ROOT", "CTASK_WORKSPACE", "CTASK_LAUNCH_DIR",
                               "CTASK_SESSION_MODE", "CTASK_SEED_DIR", "CTASK_SEED_PROJECT_DIR"};
    for (size_t i = 0; i < sizeof inherited / sizeof inherited[0]; i++) {
        unsetenv(inherited[i]);
    }

    char ws[512];
    test_version();
    test_no_error_yet();
    test_workspaces(ws, sizeof ws);
    test_null_arguments(ws);
    test_invalid_utf8(ws);
    test_not_a_workspace();
    test_bad_options(ws);
    test_thread_local_errors();
    test_session(ws);
    test_state(ws);
    test_manifests(ws);
    test_unsafe_and_broken();
    test_persistent();
    test_watch();
    test_undo();
    test_snapshots_off();

    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("ctask-c-api: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
