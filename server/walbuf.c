/*
 * walbuf.c — a SQLite VFS for the writer connection that hands each commit's
 * WAL frames to the kernel in a few large writes.
 *
 * Why: SQLite writes every WAL frame as two pwrite() calls (the 24-byte
 * frame header, then the page), neither aligned to the OS page. A batch that
 * dirties 60 pages costs 120 system calls, and on the 2-core target those
 * calls were the largest single cost of the writer thread. This VFS wraps the
 * default one ("unix") and, for the WAL file only, collects contiguous writes
 * in memory and writes them out (in pieces of up to 124 KiB, see flush) when
 * SQLite is about to depend on them.
 *
 * Thread ownership: only the writer connection opens files through this VFS
 * (store.c), and that connection is used by one thread at a time (opened on
 * the main thread, then used by the writer thread only). So the buffers need
 * no lock. Readers use the plain "unix" VFS and their own file handles.
 *
 * Invariants — when the buffered bytes must be in the file:
 *   1. Before SQLite publishes a commit to readers. It does so by writing the
 *      wal-index header, after an xSync of the WAL (the writer connection runs
 *      with synchronous=FULL, so every commit syncs the WAL — see below) and
 *      around an xShmBarrier on the database file. Both flush.
 *   2. Before anything reads, sizes, truncates, syncs or closes the WAL: the
 *      WAL file's own methods flush first.
 *   3. When the buffer passes WALBUF_MAX (a big transaction spilling frames
 *      before its commit): the write that passes it flushes.
 * A flush that fails returns SQLite's I/O error from the xSync or xWrite that
 * asked for it, so the commit fails instead of publishing missing frames.
 *
 * Durability: the connection runs synchronous=FULL with checkpoint_fullfsync,
 * so SQLite syncs the WAL at every commit with SQLITE_SYNC_NORMAL and before
 * a checkpoint with SQLITE_SYNC_FULL (the only difference the flags carry).
 * A checkpoint's sync is always real. A commit's sync is real only when
 * walbufSetCommitSync(true) (appendfsync always); otherwise it is just the
 * flush, which leaves the frames in the page cache exactly where
 * synchronous=NORMAL would have left them, and the writer's everysec fsync
 * covers them. The database file's syncs are never touched.
 */
#include "walbuf.h"
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_VFS_NAME "solidis-walbuf"
#define WALBUF_MAX (8 * 1024 * 1024)

typedef struct wb_file wb_file;
struct wb_file {
    sqlite3_file base;   /* our methods */
    sqlite3_file *real;  /* the unix VFS's file, allocated right after this struct */
    bool is_wal, is_main;
    const char *name;    /* SQLite keeps the name alive while the file is open */
    wb_file *wal;        /* main database file: its WAL, once opened */
    wb_file *next_main;  /* list of open main database files */
    /* WAL only: bytes [off, off + len) not yet written */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 off;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wb_vfs;
static sqlite3_io_methods wb_methods;
static wb_file *open_mains;
static bool commit_sync;
static long long syncs; /* real syncs of the WAL, for INFO */

void walbufSetCommitSync(bool on) { __atomic_store_n(&commit_sync, on, __ATOMIC_RELAXED); }

/* The unix VFS writes at most 128 KiB - 1 per call (it masks the length),
 * so a flush goes out in pieces just under that. */
#define WRITE_CHUNK (124 * 1024)

static int flush(wb_file *f) {
    if (!f || f->len == 0) return SQLITE_OK;
    int rc = SQLITE_OK;
    for (size_t at = 0; at < f->len && rc == SQLITE_OK; at += WRITE_CHUNK) {
        size_t n = f->len - at < WRITE_CHUNK ? f->len - at : WRITE_CHUNK;
        rc = f->real->pMethods->xWrite(f->real, f->buf + at, (int)n, f->off + (sqlite3_int64)at);
    }
    f->len = 0; /* on failure the transaction fails; SQLite rewrites its frames */
    return rc;
}

static int wbWrite(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 ofst) {
    wb_file *f = (wb_file *)pf;
    if (!f->is_wal) return f->real->pMethods->xWrite(f->real, data, amt, ofst);
    /* Join the pending run when the write starts inside it or right at its end. */
    if (f->len == 0 || ofst < f->off || ofst > f->off + (sqlite3_int64)f->len) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
        f->off = ofst;
    }
    size_t at = (size_t)(ofst - f->off), end = at + (size_t)amt;
    if (end > f->cap) {
        size_t cap = f->cap ? f->cap : 64 * 1024;
        while (cap < end) cap *= 2;
        unsigned char *nb = realloc(f->buf, cap);
        if (!nb) { /* no memory for buffering: write through */
            int rc = flush(f);
            return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, data, amt, ofst);
        }
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + at, data, (size_t)amt);
    if (end > f->len) f->len = end;
    return f->len >= WALBUF_MAX ? flush(f) : SQLITE_OK;
}

static int wbRead(sqlite3_file *pf, void *data, int amt, sqlite3_int64 ofst) {
    wb_file *f = (wb_file *)pf;
    int rc = f->is_wal ? flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amt, ofst);
}

static int wbSync(sqlite3_file *pf, int flags) {
    wb_file *f = (wb_file *)pf;
    if (!f->is_wal) return f->real->pMethods->xSync(f->real, flags);
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    bool commit = (flags & 0x0f) == SQLITE_SYNC_NORMAL; /* a checkpoint syncs with SQLITE_SYNC_FULL */
    if (commit && !__atomic_load_n(&commit_sync, __ATOMIC_RELAXED)) return SQLITE_OK;
    rc = f->real->pMethods->xSync(f->real, flags);
    if (rc == SQLITE_OK) __atomic_add_fetch(&syncs, 1, __ATOMIC_RELAXED);
    return rc;
}

long long walbufSyncs(void) { return __atomic_load_n(&syncs, __ATOMIC_RELAXED); }

static int wbTruncate(sqlite3_file *pf, sqlite3_int64 size) {
    wb_file *f = (wb_file *)pf;
    int rc = f->is_wal ? flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wbFileSize(sqlite3_file *pf, sqlite3_int64 *size) {
    wb_file *f = (wb_file *)pf;
    int rc = f->is_wal ? flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wbClose(sqlite3_file *pf) {
    wb_file *f = (wb_file *)pf;
    int rc = f->is_wal ? flush(f) : SQLITE_OK;
    if (f->is_wal) {
        for (wb_file *m = open_mains; m; m = m->next_main)
            if (m->wal == f) m->wal = NULL;
        free(f->buf);
    }
    if (f->is_main) {
        for (wb_file **p = &open_mains; *p; p = &(*p)->next_main)
            if (*p == f) { *p = f->next_main; break; }
    }
    int rc2 = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : rc2;
}

static int wbLock(sqlite3_file *pf, int lock) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xLock(f->real, lock);
}

static int wbUnlock(sqlite3_file *pf, int lock) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xUnlock(f->real, lock);
}

static int wbCheckReservedLock(sqlite3_file *pf, int *out) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wbFileControl(sqlite3_file *pf, int op, void *arg) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wbSectorSize(sqlite3_file *pf) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wbDeviceCharacteristics(sqlite3_file *pf) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wbShmMap(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int wbShmLock(sqlite3_file *pf, int offset, int n, int flags) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wbShmBarrier(sqlite3_file *pf) {
    wb_file *f = (wb_file *)pf;
    flush(f->wal); /* invariant 1; the commit's xSync has normally flushed already */
    f->real->pMethods->xShmBarrier(f->real);
}

static int wbShmUnmap(sqlite3_file *pf, int del) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xShmUnmap(f->real, del);
}

static int wbFetch(sqlite3_file *pf, sqlite3_int64 ofst, int amt, void **pp) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xFetch(f->real, ofst, amt, pp);
}

static int wbUnfetch(sqlite3_file *pf, sqlite3_int64 ofst, void *p) {
    wb_file *f = (wb_file *)pf;
    return f->real->pMethods->xUnfetch(f->real, ofst, p);
}

static sqlite3_io_methods wb_methods = {
    3, wbClose, wbRead, wbWrite, wbTruncate, wbSync, wbFileSize, wbLock, wbUnlock, wbCheckReservedLock,
    wbFileControl, wbSectorSize, wbDeviceCharacteristics, wbShmMap, wbShmLock, wbShmBarrier, wbShmUnmap,
    wbFetch, wbUnfetch,
};

static bool isWalOf(const char *wal, const char *db) {
    size_t n = strlen(db);
    return strncmp(wal, db, n) == 0 && strcmp(wal + n, "-wal") == 0;
}

static int wbOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags) {
    (void)vfs;
    wb_file *f = (wb_file *)pf;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        f->base.pMethods = NULL; /* SQLite then does not call xClose */
        return rc;
    }
    f->base.pMethods = &wb_methods;
    f->name = name;
    f->is_main = (flags & SQLITE_OPEN_MAIN_DB) != 0 && name;
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0 && name;
    if (f->is_main) {
        f->next_main = open_mains;
        open_mains = f;
    }
    if (f->is_wal)
        for (wb_file *m = open_mains; m; m = m->next_main)
            if (!m->wal && isWalOf(name, m->name)) { m->wal = f; break; }
    return SQLITE_OK;
}

static int wbDelete(sqlite3_vfs *v, const char *name, int sync_dir) { (void)v; return real_vfs->xDelete(real_vfs, name, sync_dir); }
static int wbAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return real_vfs->xAccess(real_vfs, name, flags, out); }
static int wbFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return real_vfs->xFullPathname(real_vfs, name, n, out); }
static void *wbDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return real_vfs->xDlOpen(real_vfs, name); }
static void wbDlError(sqlite3_vfs *v, int n, char *msg) { (void)v; real_vfs->xDlError(real_vfs, n, msg); }
static void (*wbDlSym(sqlite3_vfs *v, void *h, const char *sym))(void) { (void)v; return real_vfs->xDlSym(real_vfs, h, sym); }
static void wbDlClose(sqlite3_vfs *v, void *h) { (void)v; real_vfs->xDlClose(real_vfs, h); }
static int wbRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return real_vfs->xRandomness(real_vfs, n, out); }
static int wbSleep(sqlite3_vfs *v, int us) { (void)v; return real_vfs->xSleep(real_vfs, us); }
static int wbCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return real_vfs->xCurrentTime(real_vfs, out); }
static int wbGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return real_vfs->xGetLastError(real_vfs, n, out); }
static int wbCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, out); }

const char *walbufVfs(void) {
    if (real_vfs) return WALBUF_VFS_NAME;
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (!base || base->iVersion < 2) return NULL;
    real_vfs = base;
    wb_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(wb_file) + base->szOsFile,
        .mxPathname = base->mxPathname,
        .zName = WALBUF_VFS_NAME,
        .xOpen = wbOpen,
        .xDelete = wbDelete,
        .xAccess = wbAccess,
        .xFullPathname = wbFullPathname,
        .xDlOpen = wbDlOpen,
        .xDlError = wbDlError,
        .xDlSym = wbDlSym,
        .xDlClose = wbDlClose,
        .xRandomness = wbRandomness,
        .xSleep = wbSleep,
        .xCurrentTime = wbCurrentTime,
        .xGetLastError = wbGetLastError,
        .xCurrentTimeInt64 = wbCurrentTimeInt64,
    };
    if (sqlite3_vfs_register(&wb_vfs, 0) != SQLITE_OK) {
        real_vfs = NULL;
        return NULL;
    }
    return WALBUF_VFS_NAME;
}
