/*
 * resume.c — carrying a generation across a clean restart.
 *
 * A generation may only continue if the database the new process opens is
 * exactly the one the replica's last segment ends with. A clean stop
 * guarantees that when (1) every replica stored every commit, (2) the final
 * checkpoint emptied the WAL, and (3) nothing touched the file afterwards.
 * replStop checks (1) and (2) and writes "<db>.replicas":
 *
 *   solidis-replicas 1
 *   db <size> <mtime s> <mtime ns> <inode>
 *   replica <generation> <next index> <last snapshot unix-ms> <url>
 *
 * The next start reads it and deletes it at once (so a later unclean stop
 * can never reuse it), checks (3) by comparing the file's size, mtime and
 * inode, and requires an empty WAL. The replica thread then still checks
 * that its target holds the generation's last object before continuing;
 * any doubt means a new generation, which is always safe.
 * Thread: main thread (load before the writer starts, save after it ended).
 */
#include "replica.h"
#include "../server/config.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *statePath(const char *db_path) {
    size_t n = strlen(db_path) + 10;
    char *p = malloc(n);
    snprintf(p, n, "%s.replicas", db_path);
    return p;
}

static bool fingerprint(const char *db_path, char *out, size_t len) {
    struct stat sb;
    if (stat(db_path, &sb) != 0) return false;
    snprintf(out, len, "db %lld %lld %ld %llu", (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
             (long)sb.st_mtim.tv_nsec, (unsigned long long)sb.st_ino);
    return true;
}

static bool walEmpty(const char *db_path) {
    size_t n = strlen(db_path) + 5;
    char *wal = malloc(n);
    snprintf(wal, n, "%s-wal", db_path);
    struct stat sb;
    bool empty = stat(wal, &sb) != 0 || sb.st_size == 0;
    free(wal);
    return empty;
}

void resumeLoad(replica *rs, int n, const char *db_path) {
    char *path = statePath(db_path);
    FILE *f = fopen(path, "r");
    if (!f) {
        free(path);
        return;
    }
    unlink(path);
    free(path);
    char line[2048], want[256];
    bool ok = fgets(line, sizeof(line), f) && strcmp(line, "solidis-replicas 1\n") == 0 &&
              fgets(line, sizeof(line), f) && fingerprint(db_path, want, sizeof(want)) &&
              strncmp(line, want, strlen(want)) == 0 && line[strlen(want)] == '\n' && walEmpty(db_path);
    while (ok && fgets(line, sizeof(line), f)) {
        char gen[GEN_ID_LEN + 2], url[1536];
        uint64_t index;
        long long snap_ms;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "replica %17s %" SCNu64 " %lld %1535s", gen, &index, &snap_ms, url) != 4 ||
            strlen(gen) != GEN_ID_LEN)
            continue;
        for (int i = 0; i < n; i++) {
            if (strcmp(rs[i].t->url, url) != 0) continue;
            rs[i].resume = true;
            memcpy(rs[i].resume_gen, gen, GEN_ID_LEN + 1);
            rs[i].resume_index = index;
            rs[i].resume_snapshot_ms = snap_ms;
        }
    }
    fclose(f);
}

void resumeCancel(replica *rs, int n) {
    for (int i = 0; i < n; i++) rs[i].resume = false;
}

void resumeSave(replica *rs, int n, const char *db_path, uint64_t committed_lsn) {
    char fp[256];
    for (int i = 0; i < n; i++)
        if (!rs[i].have_gen || rs[i].broken || rs[i].shipped_lsn < committed_lsn) return;
    if (n == 0 || !walEmpty(db_path) || !fingerprint(db_path, fp, sizeof(fp))) return;
    char *path = statePath(db_path);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "solidis-replicas 1\n%s\n", fp);
        for (int i = 0; i < n; i++)
            fprintf(f, "replica %s %" PRIu64 " %lld %s\n", rs[i].generation, rs[i].next_index,
                    rs[i].last_snapshot_ms, rs[i].t->url);
        if (fflush(f) != 0 || fsync(fileno(f)) != 0) unlink(path);
        fclose(f);
    }
    free(path);
}
