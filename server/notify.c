/*
 * notify.c — keyspace notifications (notify-keyspace-events).
 *
 * Thread ownership
 *   - writer thread: `pending`, the events of the transaction being built
 *     (commands and the expiry sweeper call notifyKeyspaceEvent()).
 *   - shared under `lock`: `published`, events of committed transactions.
 *   - net thread: notifyApply() hands published events to the sink that the
 *     pub/sub module registered, which publishes them like PUBLISH would.
 *   - `flags`: written by the net thread (CONFIG SET), read by the writer.
 *
 * Events are published after their transaction commits, before its replies
 * are released (same order as the read cache's invalidations), so a
 * subscriber never hears of a change that could still be rolled back.
 * Event record: [int32 db][uint8 keyspace][uint8 keyevent][uint16 event len]
 * [uint32 key len][event][key].
 */
#include "server.h"
#include "notify.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static struct {
    int flags;                 /* atomic */
    buf pending;               /* writer */
    buf published;             /* under lock */
    pthread_mutex_t lock;
    void (*sink)(const char *ch, size_t chlen, const char *msg, size_t mlen);
} n = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const struct { char c; int flag; } classes[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST}, {'s', NOTIFY_SET}, {'h', NOTIFY_HASH},
    {'z', NOTIFY_ZSET}, {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED}, {'t', NOTIFY_STREAM}, {'m', NOTIFY_KEY_MISS},
    {'d', NOTIFY_MODULE}, {'n', NOTIFY_NEW}, {'K', NOTIFY_KEYSPACE}, {'E', NOTIFY_KEYEVENT},
};

int notifyParseFlags(const char *s) {
    int f = 0;
    for (; *s; s++) {
        if (*s == 'A') { f |= NOTIFY_ALL; continue; }
        size_t i = 0;
        for (; i < sizeof(classes) / sizeof(classes[0]); i++)
            if (classes[i].c == *s) { f |= classes[i].flag; break; }
        if (i == sizeof(classes) / sizeof(classes[0])) return -1;
    }
    return f;
}

/* Redis's normalised form, in its order: 'A' or the class letters g$lshzxetdn,
 * then K, E, m. As in Redis, 'n' is only listed when 'A' is not. */
void notifyFlagsToString(int f, char *out, size_t len) {
    static const char order[] = "g$lshzxetdnKEm";
    bool all = (f & NOTIFY_ALL) == NOTIFY_ALL;
    size_t o = 0;
    if (all && o + 1 < len) out[o++] = 'A';
    for (const char *p = order; *p && o + 1 < len; p++) {
        int flag = 0;
        for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
            if (classes[i].c == *p) flag = classes[i].flag;
        bool class_letter = p < order + 11; /* g..n: replaced by 'A' when all are set */
        if ((f & flag) && !(all && class_letter)) out[o++] = *p;
    }
    out[o] = '\0';
}

void notifySetFlags(int flags) { __atomic_store_n(&n.flags, flags, __ATOMIC_RELAXED); }

void serverSetNotifySink(void (*fn)(const char *ch, size_t chlen, const char *msg, size_t mlen)) { n.sink = fn; }

static void bufAppend(buf *b, const void *p, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + len) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
}

bool notifyWanted(int cls) {
    int f = __atomic_load_n(&n.flags, __ATOMIC_RELAXED);
    return (f & cls) && (f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT));
}

void notifyKeyspaceEvent(request *r, int cls, const char *event, int db, const char *key, size_t klen) {
    (void)r;
    int f = __atomic_load_n(&n.flags, __ATOMIC_RELAXED);
    if (!(f & cls) || !(f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return;
    int32_t d = db;
    uint8_t ks = (f & NOTIFY_KEYSPACE) != 0, ke = (f & NOTIFY_KEYEVENT) != 0;
    uint16_t el = (uint16_t)strlen(event);
    uint32_t kl = (uint32_t)klen;
    bufAppend(&n.pending, &d, 4);
    bufAppend(&n.pending, &ks, 1);
    bufAppend(&n.pending, &ke, 1);
    bufAppend(&n.pending, &el, 2);
    bufAppend(&n.pending, &kl, 4);
    bufAppend(&n.pending, event, el);
    bufAppend(&n.pending, key, klen);
}

void notifyDiscardPending(void) { n.pending.len = 0; }

size_t notifyMark(void) { return n.pending.len; }

void notifyRewind(size_t mark) {
    if (mark < n.pending.len) n.pending.len = mark;
}

bool notifyPublish(void) {
    if (!n.pending.len) return false;
    pthread_mutex_lock(&n.lock);
    bufAppend(&n.published, n.pending.p, n.pending.len);
    pthread_mutex_unlock(&n.lock);
    n.pending.len = 0;
    return true;
}

void notifyApply(void) {
    pthread_mutex_lock(&n.lock);
    buf b = n.published;
    n.published = (buf){NULL, 0, 0};
    pthread_mutex_unlock(&n.lock);
    for (size_t off = 0; off + 12 <= b.len;) {
        int32_t db;
        uint8_t ks, ke;
        uint16_t el;
        uint32_t kl;
        memcpy(&db, b.p + off, 4);
        ks = (uint8_t)b.p[off + 4];
        ke = (uint8_t)b.p[off + 5];
        memcpy(&el, b.p + off + 6, 2);
        memcpy(&kl, b.p + off + 8, 4);
        const char *event = b.p + off + 12, *key = event + el;
        off += 12 + el + kl;
        if (!n.sink) continue;
        char *ch = malloc(64 + (el > kl ? el : kl));
        if (!ch) continue;
        if (ks) {
            int h = snprintf(ch, 64, "__keyspace@%d__:", db);
            memcpy(ch + h, key, kl);
            n.sink(ch, (size_t)h + kl, event, el);
        }
        if (ke) {
            int h = snprintf(ch, 64, "__keyevent@%d__:", db);
            memcpy(ch + h, event, el);
            n.sink(ch, (size_t)h + el, key, kl);
        }
        free(ch);
    }
    free(b.p);
}
