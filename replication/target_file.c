/*
 * target_file.c — a replica in a local directory (file:///dir).
 *
 * Objects are files under the directory, named as in repl_internal.h. A put
 * writes "<name>.tmp-<pid>-<n>" next to its final name, fsyncs it, renames it
 * into place and fsyncs the directory, so a crash leaves either the whole
 * object or no object (a stray .tmp file is ignored by list and by restore).
 */
#include "repl_internal.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_target {
    char *root;
    unsigned long tmp_seq;
} file_target;

static char *joinPath(const file_target *f, const char *name) {
    size_t n = strlen(f->root) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", f->root, name);
    return p;
}

/* mkdir -p of every directory above path. */
static int makeParents(const char *path, char *err, size_t errlen) {
    char *p = strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", p, strerror(errno));
            free(p);
            return TARGET_ERR;
        }
        *s = '/';
    }
    free(p);
    return TARGET_OK;
}

static void syncParentDir(const char *path) {
    char *p = strdup(path);
    char *slash = strrchr(p, '/');
    if (slash && slash != p) {
        *slash = '\0';
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    free(p);
}

static int writeAll(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write through `fill` into a temp file, then rename it over `name`. */
typedef int fill_fn(int fd, const void *arg, char *err, size_t errlen);

static int putWith(target *t, const char *name, fill_fn *fill, const void *arg, char *err, size_t errlen) {
    file_target *f = t->impl;
    char *final = joinPath(f, name);
    if (makeParents(final, err, errlen) != TARGET_OK) {
        free(final);
        return TARGET_ERR;
    }
    size_t n = strlen(final) + 48;
    char *tmp = malloc(n);
    snprintf(tmp, n, "%s.tmp-%ld-%lu", final, (long)getpid(), __atomic_add_fetch(&f->tmp_seq, 1, __ATOMIC_RELAXED));
    int rc = TARGET_ERR;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", tmp, strerror(errno));
    } else if (fill(fd, arg, err, errlen) != 0) {
        close(fd);
        unlink(tmp);
    } else if (fsync(fd) != 0) {
        snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd) != 0 || rename(tmp, final) != 0) {
        snprintf(err, errlen, "rename %s: %s", final, strerror(errno));
        unlink(tmp);
    } else {
        syncParentDir(final);
        rc = TARGET_OK;
    }
    free(tmp);
    free(final);
    return rc;
}

typedef struct mem_arg { const void *buf; size_t len; } mem_arg;

static int fillFromMem(int fd, const void *arg, char *err, size_t errlen) {
    const mem_arg *m = arg;
    if (writeAll(fd, m->buf, m->len) != 0) {
        snprintf(err, errlen, "write: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int fillFromFile(int fd, const void *arg, char *err, size_t errlen) {
    const char *path = arg;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "read %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (writeAll(fd, buf, (size_t)n) != 0) {
            snprintf(err, errlen, "write: %s", strerror(errno));
            rc = -1;
            break;
        }
    }
    close(in);
    return rc;
}

static int filePut(target *t, const char *name, const void *buf, size_t len, char *err, size_t errlen) {
    mem_arg m = {buf, len};
    return putWith(t, name, fillFromMem, &m, err, errlen);
}

static int filePutFile(target *t, const char *name, const char *path, char *err, size_t errlen) {
    return putWith(t, name, fillFromFile, path, err, errlen);
}

/* The first max bytes of an object (SIZE_MAX: all of it) into memory. */
static int readPrefix(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen) {
    char *path = joinPath(t->impl, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "open %s: %s", path, strerror(e));
        free(path);
        return e == ENOENT ? TARGET_NOT_FOUND : TARGET_ERR;
    }
    struct stat sb;
    char *data = NULL;
    size_t got = 0, want = 0;
    int rc = TARGET_ERR;
    if (fstat(fd, &sb) == 0) {
        want = (size_t)sb.st_size < max ? (size_t)sb.st_size : max;
        data = malloc(want + 1);
        while (got < want) {
            ssize_t n = read(fd, data + got, want - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (got == want) rc = TARGET_OK;
        else snprintf(err, errlen, "short read of %s", path);
    } else {
        snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
    }
    close(fd);
    free(path);
    if (rc != TARGET_OK) {
        free(data);
        return rc;
    }
    *buf = data;
    *len = got;
    return TARGET_OK;
}

static int fileGet(target *t, const char *name, char **buf, size_t *len, char *err, size_t errlen) {
    return readPrefix(t, name, SIZE_MAX, buf, len, err, errlen);
}

static int fileGetHead(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen) {
    return readPrefix(t, name, max, buf, len, err, errlen);
}

static int fileGetFile(target *t, const char *name, const char *out, char *err, size_t errlen) {
    char *path = joinPath(t->impl, name);
    if (access(path, R_OK) != 0) {
        int e = errno;
        snprintf(err, errlen, "open %s: %s", path, strerror(e));
        free(path);
        return e == ENOENT ? TARGET_NOT_FOUND : TARGET_ERR;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = TARGET_ERR;
    if (fd < 0) snprintf(err, errlen, "open %s: %s", out, strerror(errno));
    else {
        if (fillFromFile(fd, path, err, errlen) == 0) rc = TARGET_OK;
        close(fd);
    }
    free(path);
    return rc;
}

/* Recursive walk below dir; `rel` is dir's name relative to the root. */
static int walk(const char *dir, const char *rel, const char *prefix, target_list_fn *fn, void *arg) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-")) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2, m = strlen(rel) + strlen(e->d_name) + 2;
        char *full = malloc(n), *name = malloc(m);
        snprintf(full, n, "%s/%s", dir, e->d_name);
        snprintf(name, m, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat sb;
        if (stat(full, &sb) == 0) {
            size_t plen = strlen(prefix), nlen = strlen(name);
            size_t cmp = plen < nlen ? plen : nlen;
            if (S_ISDIR(sb.st_mode)) {
                /* descend only where the prefix can still match */
                if (strncmp(name, prefix, cmp) == 0) walk(full, name, prefix, fn, arg);
            } else if (S_ISREG(sb.st_mode) && strncmp(name, prefix, plen) == 0) {
                fn(arg, name, (long long)sb.st_size);
            }
        }
        free(full);
        free(name);
    }
    closedir(d);
    return 0;
}

static int fileList(target *t, const char *prefix, target_list_fn *fn, void *arg, char *err, size_t errlen) {
    file_target *f = t->impl;
    if (walk(f->root, "", prefix, fn, arg) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", f->root, strerror(errno));
        return TARGET_ERR;
    }
    return TARGET_OK;
}

static int fileDel(target *t, const char *name, char *err, size_t errlen) {
    char *path = joinPath(t->impl, name);
    int rc = TARGET_OK;
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
        rc = TARGET_ERR;
    }
    /* drop directories left empty (a deleted generation) */
    char *slash;
    while (rc == TARGET_OK && (slash = strrchr(path, '/')) != NULL) {
        *slash = '\0';
        if (strlen(path) <= strlen(((file_target *)t->impl)->root) || rmdir(path) != 0) break;
    }
    free(path);
    return rc;
}

static void fileClose(target *t) {
    file_target *f = t->impl;
    free(f->root);
    free(f);
    free(t);
}

static const target_ops file_ops = {.put = filePut, .put_file = filePutFile, .get = fileGet, .get_file = fileGetFile,
                                    .get_head = fileGetHead, .list = fileList, .del = fileDel, .close = fileClose};

target *targetOpenFile(const char *dir, char *err, size_t errlen) {
    (void)err; (void)errlen;
    file_target *f = calloc(1, sizeof(*f));
    f->root = strdup(dir);
    size_t n = strlen(f->root);
    while (n > 1 && f->root[n - 1] == '/') f->root[--n] = '\0';
    target *t = calloc(1, sizeof(*t));
    t->ops = &file_ops;
    t->impl = f;
    return t;
}
