/*
 * target_probe.c — drives one replica target (file:// or s3://) from the
 * command line, so the integration tests exercise the real backends
 * (target_file.c, target_s3.c) against a real directory or S3 server.
 *
 *   test-target-probe URL put NAME FILE      upload a local file (put_file)
 *   test-target-probe URL putmem NAME STRING upload bytes from memory (put);
 *                                            STRING "-" reads them from stdin
 *   test-target-probe URL get NAME OUTFILE   download into a file (get_file)
 *   test-target-probe URL cat NAME           download into memory (get), to stdout
 *   test-target-probe URL head NAME N        the first N bytes (get_head), to stdout
 *   test-target-probe URL ls PREFIX          list: "name size" lines
 *   test-target-probe URL rm NAME            delete
 *   test-target-probe URL fill PREFIX N      put N small objects PREFIX00000…,
 *                                            all through one target (keep-alive)
 *
 * Exit status: 0 ok, 2 not found, 1 error (message on stderr).
 * Credentials come from the environment (AWS_ACCESS_KEY_ID, …).
 * Single-threaded.
 */
#include "../../replication/repl_internal.h"
#include <stdlib.h>
#include <string.h>

static void printEntry(void *arg, const char *name, long long size) {
    (void)arg;
    printf("%s %lld\n", name, size);
}

/* get (max < 0) or get_head (max bytes), to stdout. */
static int cat(target *t, const char *name, long max, char *err, size_t errlen) {
    char *buf;
    size_t len;
    int rc = max < 0 ? t->ops->get(t, name, &buf, &len, err, errlen)
                     : t->ops->get_head(t, name, (size_t)max, &buf, &len, err, errlen);
    if (rc != TARGET_OK) return rc;
    if (fwrite(buf, 1, len, stdout) != len) {
        snprintf(err, errlen, "write to stdout failed");
        rc = TARGET_ERR;
    }
    free(buf);
    return rc;
}

/* put from memory: argv can't carry NUL bytes, so "-" takes stdin. */
static int putMem(target *t, const char *name, const char *arg, char *err, size_t errlen) {
    if (strcmp(arg, "-") != 0) return t->ops->put(t, name, arg, strlen(arg), err, errlen);
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) buf = realloc(buf, cap = cap ? cap * 2 : 65536);
        n = fread(buf + len, 1, cap - len, stdin);
        len += n;
    } while (n > 0);
    int rc = t->ops->put(t, name, buf, len, err, errlen);
    free(buf);
    return rc;
}

static int fill(target *t, const char *prefix, long n, char *err, size_t errlen) {
    for (long i = 0; i < n; i++) {
        char name[512], body[32];
        snprintf(name, sizeof(name), "%s%05ld", prefix, i);
        int len = snprintf(body, sizeof(body), "object %ld", i);
        int rc = t->ops->put(t, name, body, (size_t)len, err, errlen);
        if (rc != TARGET_OK) return rc;
    }
    return TARGET_OK;
}

static int run(target *t, int argc, char **argv, char *err, size_t errlen) {
    const char *cmd = argv[2], *a = argc > 3 ? argv[3] : NULL, *b = argc > 4 ? argv[4] : NULL;
    if (strcmp(cmd, "put") == 0 && b) return t->ops->put_file(t, a, b, err, errlen);
    if (strcmp(cmd, "putmem") == 0 && b) return putMem(t, a, b, err, errlen);
    if (strcmp(cmd, "get") == 0 && b) return t->ops->get_file(t, a, b, err, errlen);
    if (strcmp(cmd, "cat") == 0 && a) return cat(t, a, -1, err, errlen);
    if (strcmp(cmd, "head") == 0 && b && atol(b) >= 0) return cat(t, a, atol(b), err, errlen);
    if (strcmp(cmd, "ls") == 0) return t->ops->list(t, a ? a : "", printEntry, NULL, err, errlen);
    if (strcmp(cmd, "rm") == 0 && a) return t->ops->del(t, a, err, errlen);
    if (strcmp(cmd, "fill") == 0 && b) return fill(t, a, atol(b), err, errlen);
    snprintf(err, errlen, "usage: %s URL put NAME FILE | putmem NAME STRING | get NAME OUTFILE | cat NAME | "
             "head NAME N | ls PREFIX | rm NAME | fill PREFIX N", argv[0]);
    return TARGET_ERR;
}

int main(int argc, char **argv) {
    char err[1024] = "";
    if (argc < 3) {
        fprintf(stderr, "usage: %s URL COMMAND [ARGS]\n", argv[0]);
        return 1;
    }
    target *t = targetOpen(argv[1], NULL, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = run(t, argc, argv, err, sizeof(err));
    targetClose(t);
    if (rc != TARGET_OK) fprintf(stderr, "%s\n", err);
    return rc == TARGET_OK ? 0 : rc == TARGET_NOT_FOUND ? 2 : 1;
}
