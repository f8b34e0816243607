/*
 * pubsub.c — Pub/Sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE
 * SSUBSCRIBE SUNSUBSCRIBE PUBLISH SPUBLISH and PUBSUB (CHANNELS NUMSUB NUMPAT
 * SHARDCHANNELS SHARDNUMSUB HELP, plus Solidis's REPLAY), backed by a durable
 * message log.
 *
 * For users
 *   Everything Redis 7.2 does, with the same replies in RESP2 and RESP3
 *   (RESP3 gets push frames and may run any command while subscribed).
 *   In addition, every PUBLISHed message is written to a message log kept for
 *   a retention period (60 s; `pubsub-retention`, 0 = keep nothing), and
 *
 *     PUBSUB REPLAY <channel> <since-id> [COUNT <count>]
 *
 *   returns the retained messages of <channel> whose id is greater than
 *   <since-id>, oldest first, as an array of [id, payload] pairs: at most
 *   <count> of them (default 1000; call again with the last id returned to
 *   read on). Ids are integers that only grow and are never reused, also
 *   across restarts. Live messages keep Redis's frames and carry no id,
 *   unless the client asked for it with
 *
 *     CLIENT PUBSUB-IDS ON|OFF
 *
 *   (per connection, off by default and after RESET): its message and
 *   pmessage frames then end with one more element, the log id as an integer
 *   (null for a message that was not logged: keyspace notifications,
 *   retention 0). A client that wants to catch up after a disconnect keeps
 *   the last id it handled (from those frames or from REPLAY): on (re)connect
 *   it SUBSCRIBEs first, then REPLAYs from that id (0 = from the oldest
 *   retained message) and skips what it has already handled — a message may
 *   show up both live and in the replay. Messages older than the retention
 *   are never returned. SPUBLISH messages are not logged.
 *
 * Threads
 *   The registry (channel → subscribers, pattern → subscribers, shard channel
 *   → subscribers, and each client's own subscriptions) belongs to the net
 *   thread: the (UN)SUBSCRIBE commands, SPUBLISH, PUBSUB and the fan-out of
 *   PUBLISH all run there. PUBLISH itself runs on the writer, which appends
 *   the message to the log inside its batch and leaves the fan-out to
 *   publishDelivered(), called by the net thread once the batch committed
 *   (request.on_delivery) — so a message is committed before anyone sees it,
 *   and one publisher's messages reach subscribers in order. REPLAY reads the
 *   log on the net thread's read connection; retention trims it on the writer
 *   in slices of RETENTION_SLICE rows.
 *
 * Slow subscribers: clientPush() enforces `client-output-buffer-limit pubsub
 * 32mb 8mb 60` and may close a client in the middle of a fan-out. The gone
 * hook then only parks the client's state (gone_list) and the fan-out frees
 * it when done, so the registry never changes under an iteration.
 */
#include "pubsub.h"
#include "../server/server.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stands in for the config `pubsub-retention` (seconds, 0 = keep nothing):
 * modules cannot declare config options yet. With 0, PUBLISH skips the log. */
/* pubsub-retention, seconds (0 = keep nothing). */
static long long retention_s = 60;
#define PUBSUB_RETENTION_MS (__atomic_load_n(&retention_s, __ATOMIC_RELAXED) * 1000LL)
#define RETENTION_SLICE 1000
#define REPLAY_DEFAULT_COUNT 1000

/* ---- a small hash table: binary-safe name → pointer ---------------------- */

typedef struct dentry {
    struct dentry *next;
    uint64_t hash;
    void *val;
    size_t klen;
    char key[]; /* NUL-terminated copy of the name */
} dentry;

typedef struct dict {
    dentry **table;
    size_t size; /* buckets: 0 or a power of two */
    size_t used;
} dict;

static uint64_t hash_seed;

static uint64_t hashKey(const char *p, size_t n) {
    uint64_t h = 14695981039346656037ULL ^ hash_seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 31;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static void dictResize(dict *d, size_t size) {
    dentry **t = calloc(size, sizeof(*t));
    if (!t) abort();
    for (size_t i = 0; i < d->size; i++) {
        dentry *next;
        for (dentry *e = d->table[i]; e; e = next) {
            next = e->next;
            size_t b = e->hash & (size - 1);
            e->next = t[b];
            t[b] = e;
        }
    }
    free(d->table);
    d->table = t;
    d->size = size;
}

static dentry *dictFind(const dict *d, const char *k, size_t n, uint64_t h) {
    if (!d->size) return NULL;
    for (dentry *e = d->table[h & (d->size - 1)]; e; e = e->next)
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0) return e;
    return NULL;
}

/* The name must not be present yet. */
static dentry *dictAdd(dict *d, const char *k, size_t n, uint64_t h, void *val) {
    if (d->used >= d->size) dictResize(d, d->size ? d->size * 2 : 8);
    dentry *e = malloc(sizeof(*e) + n + 1);
    if (!e) abort();
    memcpy(e->key, k, n);
    e->key[n] = '\0';
    e->klen = n;
    e->hash = h;
    e->val = val;
    size_t b = h & (d->size - 1);
    e->next = d->table[b];
    d->table[b] = e;
    d->used++;
    return e;
}

/* Never resizes, so an iteration that keeps `next` may remove the current entry. */
static void dictRemove(dict *d, dentry *e) {
    dentry **p = &d->table[e->hash & (d->size - 1)];
    while (*p != e) p = &(*p)->next;
    *p = e->next;
    d->used--;
    free(e);
}

/* Give memory back after removals; never called during an iteration. */
static void dictCompact(dict *d) {
    if (d->used == 0) {
        free(d->table);
        d->table = NULL;
        d->size = 0;
    } else if (d->size > 8 && d->used * 8 < d->size) {
        size_t s = 8;
        while (s < d->used * 2) s <<= 1;
        dictResize(d, s);
    }
}

/* ---- the registry (net thread) ------------------------------------------ */

enum { K_CHANNEL, K_PATTERN, K_SHARD, K_COUNT };

typedef struct membership membership;

/* A channel, pattern or shard channel with at least one subscriber. */
typedef struct channel {
    dentry *entry; /* its entry in registry[kind], which holds the name */
    membership **members;
    size_t count, cap;
} channel;

/* One client's subscriptions, in its clientPubsubSlot(), and its CLIENT
 * PUBSUB-IDS setting (the state is kept while either is there). */
typedef struct psclient {
    struct client *c;   /* NULL once the client is gone */
    dict subs[K_COUNT]; /* name → membership */
    bool ids;           /* CLIENT PUBSUB-IDS ON: live messages carry their log id */
    struct psclient *next_gone;
} psclient;

struct membership {
    psclient *pc;
    channel *ch;
    size_t idx; /* position in ch->members, for O(1) removal */
};

static dict registry[K_COUNT];
static int delivering;       /* a fan-out is iterating the registry */
static psclient *gone_list;  /* clients that went away during a fan-out */

static psclient *stateOf(struct client *c, bool create) {
    void **slot = clientPubsubSlot(c);
    if (!*slot && create) {
        psclient *pc = calloc(1, sizeof(*pc));
        if (!pc) abort();
        pc->c = c;
        *slot = pc;
    }
    return *slot;
}

/* The count Redis reports: channels + patterns, or shard channels. */
static long kindCount(const psclient *pc, int kind) {
    if (!pc) return 0;
    if (kind == K_SHARD) return (long)pc->subs[K_SHARD].used;
    return (long)(pc->subs[K_CHANNEL].used + pc->subs[K_PATTERN].used);
}

static bool subscribe(psclient *pc, int kind, const char *name, size_t len) {
    uint64_t h = hashKey(name, len);
    if (dictFind(&pc->subs[kind], name, len, h)) return false;
    dentry *ge = dictFind(&registry[kind], name, len, h);
    channel *ch;
    if (ge) {
        ch = ge->val;
    } else {
        ch = calloc(1, sizeof(*ch));
        if (!ch) abort();
        ch->entry = dictAdd(&registry[kind], name, len, h, ch);
    }
    if (ch->count == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->members = realloc(ch->members, ch->cap * sizeof(*ch->members));
        if (!ch->members) abort();
    }
    membership *m = malloc(sizeof(*m));
    if (!m) abort();
    m->pc = pc;
    m->ch = ch;
    m->idx = ch->count;
    ch->members[ch->count++] = m;
    dictAdd(&pc->subs[kind], name, len, h, m);
    return true;
}

/* Remove one subscription, given its entry in the client's own dict. */
static void unsubscribeEntry(psclient *pc, int kind, dentry *ce) {
    membership *m = ce->val;
    channel *ch = m->ch;
    membership *last = ch->members[--ch->count];
    ch->members[m->idx] = last;
    last->idx = m->idx;
    if (ch->count == 0) {
        dictRemove(&registry[kind], ch->entry);
        free(ch->members);
        free(ch);
    } else if (ch->cap > 16 && ch->count * 4 < ch->cap) {
        ch->cap /= 2;
        ch->members = realloc(ch->members, ch->cap * sizeof(*ch->members));
        if (!ch->members) abort();
    }
    free(m);
    dictRemove(&pc->subs[kind], ce);
}

static void compactRegistry(void) {
    for (int k = 0; k < K_COUNT; k++) dictCompact(&registry[k]);
}

static void stateFree(psclient *pc) {
    for (int k = 0; k < K_COUNT; k++) {
        dict *d = &pc->subs[k];
        for (size_t b = 0; b < d->size; b++) {
            dentry *next;
            for (dentry *e = d->table[b]; e; e = next) {
                next = e->next;
                unsubscribeEntry(pc, k, e);
            }
        }
        dictCompact(d);
    }
    free(pc);
}

/* After an unsubscribe: tell the net thread the new count (RESP2 subscribed
 * mode follows it) and drop the state of a client left with nothing (no
 * subscription and PUBSUB-IDS off). */
static void syncClient(struct client *c, psclient *pc) {
    long ch = pc ? (long)pc->subs[K_CHANNEL].used : 0, pat = pc ? (long)pc->subs[K_PATTERN].used : 0,
         shard = pc ? (long)pc->subs[K_SHARD].used : 0, total = ch + pat + shard;
    clientSetSubscriptions(c, ch, pat, shard);
    if (pc && total == 0 && !pc->ids) {
        *clientPubsubSlot(c) = NULL;
        stateFree(pc);
    } else if (pc) {
        for (int k = 0; k < K_COUNT; k++) dictCompact(&pc->subs[k]);
    }
    compactRegistry();
}

/* serverOnClientGone hook. */
static void pubsubClientGone(struct client *c) {
    void **slot = clientPubsubSlot(c);
    psclient *pc = *slot;
    if (!pc) return;
    *slot = NULL;
    pc->c = NULL;
    if (delivering) { /* a fan-out is iterating: free it when that is done */
        pc->next_gone = gone_list;
        gone_list = pc;
        return;
    }
    stateFree(pc);
    compactRegistry();
}

/* ---- (UN)SUBSCRIBE ---------------------------------------------------------- */

static const char *const sub_event[K_COUNT] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_event[K_COUNT] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* [event, name|null, count]: an array in RESP2, a push frame in RESP3. */
static void replyEvent(request *r, const char *event, const char *name, size_t len, long count) {
    addReplyRaw(r, r->resp >= 3 ? ">3\r\n" : "*3\r\n", 4);
    addReplyBulkCString(r, event);
    if (name) addReplyBulk(r, name, len);
    else addReplyNull(r);
    addReplyLongLong(r, count);
}

static void subscribeGeneric(request *r, int kind) {
    if (!r->client) { addReplyError(r, "ERR Command not allowed inside a transaction"); return; }
    psclient *pc = stateOf(r->client, true);
    for (int i = 1; i < r->argc; i++) {
        subscribe(pc, kind, r->argv[i], r->argvlen[i]);
        replyEvent(r, sub_event[kind], r->argv[i], r->argvlen[i], kindCount(pc, kind));
    }
    syncClient(r->client, pc);
}

static void unsubscribeGeneric(request *r, int kind) {
    if (!r->client) { addReplyError(r, "ERR Command not allowed inside a transaction"); return; }
    psclient *pc = stateOf(r->client, false);
    if (r->argc > 1) {
        for (int i = 1; i < r->argc; i++) {
            if (pc) {
                dentry *e = dictFind(&pc->subs[kind], r->argv[i], r->argvlen[i], hashKey(r->argv[i], r->argvlen[i]));
                if (e) unsubscribeEntry(pc, kind, e);
            }
            replyEvent(r, unsub_event[kind], r->argv[i], r->argvlen[i], kindCount(pc, kind));
        }
    } else if (!pc || pc->subs[kind].used == 0) {
        replyEvent(r, unsub_event[kind], NULL, 0, kindCount(pc, kind));
    } else {
        dict *d = &pc->subs[kind];
        for (size_t b = 0; b < d->size; b++) {
            dentry *next;
            for (dentry *e = d->table[b]; e; e = next) {
                next = e->next;
                replyEvent(r, unsub_event[kind], e->key, e->klen, kindCount(pc, kind) - 1);
                unsubscribeEntry(pc, kind, e);
            }
        }
    }
    syncClient(r->client, pc);
}

static void subscribeCommand(request *r) { subscribeGeneric(r, K_CHANNEL); }
static void psubscribeCommand(request *r) { subscribeGeneric(r, K_PATTERN); }
static void ssubscribeCommand(request *r) { subscribeGeneric(r, K_SHARD); }
static void unsubscribeCommand(request *r) { unsubscribeGeneric(r, K_CHANNEL); }
static void punsubscribeCommand(request *r) { unsubscribeGeneric(r, K_PATTERN); }
static void sunsubscribeCommand(request *r) { unsubscribeGeneric(r, K_SHARD); }

/* ---- fan-out (net thread) ------------------------------------------------ */

/* One message frame, encoded once per publish (per pattern) and copied to
 * every subscriber. v[0] is the RESP2 array; the other forms are made from
 * it on first use: v[1] RESP2 with the message id (CLIENT PUBSUB-IDS), v[2]
 * the RESP3 push, v[3] the RESP3 push with the id. The id is one more
 * element after the payload: an integer, or a null when the message has no
 * log id (keyspace notifications, pubsub-retention 0). "smessage" frames
 * never carry one (SPUBLISH is not logged). */
typedef struct frame {
    reply v[4];
    bool built[4];
    bool idable;     /* message / pmessage */
    long long id;    /* 0 = none */
} frame;

static void appendBulk(reply *o, const char *p, size_t n) {
    char hdr[32];
    hdr[0] = '$';
    int l = ll2string(hdr + 1, sizeof(hdr) - 3, (long long)n);
    hdr[l + 1] = '\r';
    hdr[l + 2] = '\n';
    replyAppend(o, hdr, (size_t)l + 3);
    replyAppend(o, p, n);
    replyAppend(o, "\r\n", 2);
}

static void frameInit(frame *f, const char *kind, const dentry *pattern, const char *ch, size_t chlen,
                      const char *msg, size_t mlen, long long id) {
    for (int i = 0; i < 4; i++) {
        replyInit(&f->v[i]);
        f->built[i] = i == 0;
    }
    f->idable = strcmp(kind, "smessage") != 0;
    f->id = id;
    replyAppend(&f->v[0], pattern ? "*4\r\n" : "*3\r\n", 4);
    appendBulk(&f->v[0], kind, strlen(kind));
    if (pattern) appendBulk(&f->v[0], pattern->key, pattern->klen);
    appendBulk(&f->v[0], ch, chlen);
    appendBulk(&f->v[0], msg, mlen);
}

static void frameFree(frame *f) {
    for (int i = 0; i < 4; i++) replyFree(&f->v[i]);
}

/* The frame for a client speaking RESP `resp`, with or without the id. */
static const reply *frameFor(frame *f, int resp, bool ids) {
    int i = (resp >= 3 ? 2 : 0) + (ids && f->idable ? 1 : 0);
    reply *o = &f->v[i];
    if (f->built[i]) return o;
    replyAppend(o, f->v[0].buf, f->v[0].len);
    if (resp >= 3) o->buf[0] = '>';
    if (i & 1) {
        o->buf[1]++; /* "*3" -> "*4", "*4" -> "*5": one more element */
        if (f->id > 0) {
            char num[32];
            num[0] = ':';
            int l = ll2string(num + 1, sizeof(num) - 3, f->id);
            num[l + 1] = '\r';
            num[l + 2] = '\n';
            replyAppend(o, num, (size_t)l + 3);
        } else if (resp >= 3) {
            replyAppend(o, "_\r\n", 3);
        } else {
            replyAppend(o, "$-1\r\n", 5);
        }
    }
    f->built[i] = true;
    return o;
}

/* Deliver to every subscriber of `ch`. The publishing client's own copy goes
 * to `self_out`, for the caller to place after the reply — never through
 * clientPush, which could close the client the caller still uses. */
static void frameSendAll(frame *f, const channel *ch, struct client *self, reply *self_out) {
    for (size_t i = 0; i < ch->count; i++) {
        const psclient *pc = ch->members[i]->pc;
        struct client *c = pc->c;
        if (!c) continue; /* went away during this fan-out */
        const reply *b = frameFor(f, clientResp(c), pc->ids);
        if (c == self) {
            if (self_out) replyAppend(self_out, b->buf, b->len);
        } else {
            clientPush(c, b->buf, b->len);
        }
    }
}

/* Send a message to the subscribers of a channel (and of the patterns that
 * match it) or of a shard channel. `id` is its log id (0 = not logged), for
 * the clients with PUBSUB-IDS on. Returns the number of receivers, counting
 * a client once per matching pattern, as Redis does. */
static long long fanout(int kind, const char *ch, size_t chlen, const char *msg, size_t mlen, long long id,
                        struct client *self, reply *self_out) {
    long long receivers = 0;
    delivering++;
    dentry *e = dictFind(&registry[kind], ch, chlen, hashKey(ch, chlen));
    if (e) {
        frame f;
        frameInit(&f, kind == K_SHARD ? "smessage" : "message", NULL, ch, chlen, msg, mlen, id);
        frameSendAll(&f, e->val, self, self_out);
        receivers += (long long)((channel *)e->val)->count;
        frameFree(&f);
    }
    if (kind == K_CHANNEL) {
        const dict *pd = &registry[K_PATTERN];
        for (size_t b = 0; b < pd->size; b++) {
            for (dentry *pe = pd->table[b]; pe; pe = pe->next) {
                if (!stringmatchlen(pe->key, pe->klen, ch, chlen, false)) continue;
                frame f;
                frameInit(&f, "pmessage", pe, ch, chlen, msg, mlen, id);
                frameSendAll(&f, pe->val, self, self_out);
                receivers += (long long)((channel *)pe->val)->count;
                frameFree(&f);
            }
        }
    }
    if (--delivering == 0 && gone_list) {
        while (gone_list) {
            psclient *pc = gone_list;
            gone_list = pc->next_gone;
            stateFree(pc);
        }
        compactRegistry();
    }
    return receivers;
}

/* ---- the message log (SQLite) ------------------------------------------- */

/* Ids are rowids, assigned as max(id) + 1. Retention never deletes the
 * newest row, so ids keep growing even when everything else expired and a
 * since-id held by a client never points at a newer message. (REPLAY hides
 * that row once it is past the retention.) No AUTOINCREMENT and no index on
 * created_at: both cost a B-tree write per PUBLISH. Trimming walks from the
 * oldest id instead, as ids grow with time; should the clock step back, a
 * newer row among the oldest only delays the trim of the rows behind it. */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS pubsub_messages("
    " id INTEGER PRIMARY KEY, channel BLOB NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pubsub_messages_channel ON pubsub_messages(channel, id);";

static const char SQL_LOG_INSERT[] = "INSERT INTO pubsub_messages(channel, payload, created_at) VALUES(?1, ?2, ?3)";
static const char SQL_LOG_TRIM[] = /* LIMIT = RETENTION_SLICE */
    "DELETE FROM pubsub_messages WHERE id IN "
    "(SELECT id FROM pubsub_messages WHERE id < (SELECT max(id) FROM pubsub_messages) ORDER BY id LIMIT 1000) "
    "AND created_at < ?1";
static const char SQL_LOG_REPLAY[] =
    "SELECT id, payload FROM pubsub_messages WHERE channel=?1 AND id>?2 AND created_at>=?4 ORDER BY id LIMIT ?3";

/* Writer: append the message of PUBLISH to the log; its id in *id. */
static bool logAppend(request *r, int64_t *id) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_LOG_INSERT);
    if (!s) return storeFail(r, "pubsub log");
    sqlite3_bind_blob(s, 1, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, r->now_ms);
    int rc = sqlite3_step(s);
    *id = sqlite3_last_insert_rowid(storeDb(r->st));
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "pubsub log");
    return true;
}

/* Writer background task: drop messages older than the retention, one
 * bounded slice per transaction. */
static bool retentionTask(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_LOG_TRIM);
    if (!s) return false;
    sqlite3_bind_int64(s, 1, r->now_ms - PUBSUB_RETENTION_MS);
    int rc = sqlite3_step(s);
    int deleted = rc == SQLITE_DONE ? sqlite3_changes(storeDb(r->st)) : 0;
    stmtDone(s);
    return deleted >= RETENTION_SLICE;
}

/* ---- PUBLISH / SPUBLISH ---------------------------------------------------- */

/* The publisher's own copies (a RESP3 client subscribed to the channel)
 * follow its reply, as in Redis 7.2; inside EXEC they follow the whole EXEC
 * reply: they are then left in delivery_arg (a reply *) for execFinish. */
static void replySelfCopies(request *r, reply *self) {
    if (r->in_multi && self->len) {
        reply *later = malloc(sizeof(*later));
        if (!later) abort();
        replyInit(later);
        replyAppend(later, self->buf, self->len);
        r->delivery_arg = later;
    } else if (r->out) {
        replyAppend(r->out, self->buf, self->len);
    }
    replyFree(self);
}

/* Net thread, after the batch with the log row committed. */
static void publishDelivered(request *r) {
    long long id = (long long)(intptr_t)r->delivery_arg;
    r->delivery_arg = NULL;
    /* A failed commit leaves its error in the reply: nothing was published. */
    if (r->out && r->out->len) return;
    reply self;
    replyInit(&self);
    long long n = fanout(K_CHANNEL, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], id, r->client,
                         r->out ? &self : NULL);
    if (r->out) addReplyLongLong(r, n);
    replySelfCopies(r, &self);
}

/* PUBLISH channel message — writer: log it; the fan-out and the reply (the
 * receiver count) happen in publishDelivered(). */
static void publishCommand(request *r) {
    int64_t id = 0;
    if (PUBSUB_RETENTION_MS > 0 && !logAppend(r, &id)) return;
    r->on_delivery = publishDelivered;
    r->delivery_arg = (void *)(intptr_t)id; /* the log id (argv still holds channel and payload) */
}

/* SPUBLISH shardchannel message — net thread, not logged. */
static void spublishCommand(request *r) {
    reply self;
    replyInit(&self);
    long long n = fanout(K_SHARD, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], 0, r->client, &self);
    addReplyLongLong(r, n);
    replySelfCopies(r, &self);
}

/* ---- CLIENT PUBSUB-IDS ------------------------------------------------------- */

/* CLIENT PUBSUB-IDS ON|OFF — net thread (a row of the core's CLIENT table).
 * With ON the client's live message / pmessage frames carry the message's
 * log id as one more element (see frameFor); OFF, the default, gives Redis's
 * frames. RESET turns it off with the rest of the client's pub/sub state. */
void clientPubsubIdsCommand(request *r) {
    bool on;
    if (argIs(r, 2, "on")) on = true;
    else if (argIs(r, 2, "off")) on = false;
    else { addReplySyntaxError(r); return; }
    if (!r->client) { addReplyError(r, "ERR Command not allowed inside a transaction"); return; }
    psclient *pc = stateOf(r->client, on);
    if (pc) {
        pc->ids = on;
        syncClient(r->client, pc); /* drops the state again if it is now empty */
    }
    addReplyOK(r);
}

/* ---- PUBSUB ------------------------------------------------------------- */

static void replySubcommandSyntax(request *r) {
    addReplyErrorFormat(r, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try PUBSUB HELP.",
                        r->argv[1]);
}

/* Reached only for a subcommand that is not in the table. */
static void pubsubCommand(request *r) {
    addReplyErrorFormat(r, "ERR unknown subcommand '%.128s'. Try PUBSUB HELP.", r->argv[1]);
}

static void replyActive(request *r, int kind) {
    if (r->argc > 3) { replySubcommandSyntax(r); return; }
    const dict *d = &registry[kind];
    dentry **hits = d->used ? malloc(d->used * sizeof(*hits)) : NULL;
    if (d->used && !hits) abort();
    long n = 0;
    for (size_t b = 0; b < d->size; b++)
        for (dentry *e = d->table[b]; e; e = e->next)
            if (r->argc < 3 || stringmatchlen(r->argv[2], r->argvlen[2], e->key, e->klen, false)) hits[n++] = e;
    addReplyArrayLen(r, n);
    for (long i = 0; i < n; i++) addReplyBulk(r, hits[i]->key, hits[i]->klen);
    free(hits);
}

static void replyNumsub(request *r, int kind) {
    addReplyArrayLen(r, (long)(r->argc - 2) * 2);
    for (int i = 2; i < r->argc; i++) {
        dentry *e = dictFind(&registry[kind], r->argv[i], r->argvlen[i], hashKey(r->argv[i], r->argvlen[i]));
        addReplyBulk(r, r->argv[i], r->argvlen[i]);
        addReplyLongLong(r, e ? (long long)((channel *)e->val)->count : 0);
    }
}

static void pubsubChannelsCommand(request *r) { replyActive(r, K_CHANNEL); }
static void pubsubShardchannelsCommand(request *r) { replyActive(r, K_SHARD); }
static void pubsubNumsubCommand(request *r) { replyNumsub(r, K_CHANNEL); }
static void pubsubShardnumsubCommand(request *r) { replyNumsub(r, K_SHARD); }
static void pubsubNumpatCommand(request *r) { addReplyLongLong(r, (long long)registry[K_PATTERN].used); }

static void pubsubHelpCommand(request *r) {
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "REPLAY <channel> <since-id> [COUNT <count>]",
        "    Return retained messages of <channel> with an id greater than <since-id>,",
        "    oldest first, as [id, payload] pairs (default count: 1000).",
        "HELP",
        "    Prints this help.",
    };
    long n = (long)(sizeof(lines) / sizeof(lines[0]));
    addReplyArrayLen(r, n);
    for (long i = 0; i < n; i++) addReplyStatus(r, lines[i]);
}

/* PUBSUB REPLAY channel since-id [COUNT count] — net thread, read connection. */
static void pubsubReplayCommand(request *r) {
    long long since, count = REPLAY_DEFAULT_COUNT;
    if (!getLongLongArg(r, 3, &since, NULL)) return;
    for (int i = 4; i < r->argc; i++) {
        if (argIs(r, i, "count") && i + 1 < r->argc) {
            if (!getLongLongArg(r, i + 1, &count, NULL)) return;
            if (count <= 0) { addReplyError(r, "ERR COUNT must be > 0"); return; }
            i++;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_LOG_REPLAY);
    if (!s) { storeFail(r, "pubsub replay"); return; }
    sqlite3_bind_blob(s, 1, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, count);
    sqlite3_bind_int64(s, 4, r->now_ms - PUBSUB_RETENTION_MS);
    reply body;
    replyInit(&body);
    request tmp = *r;
    tmp.out = &body;
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        addReplyArrayLen(&tmp, 2);
        addReplyLongLong(&tmp, sqlite3_column_int64(s, 0));
        const void *p = sqlite3_column_blob(s, 1);
        addReplyBulk(&tmp, p ? p : "", (size_t)sqlite3_column_bytes(s, 1));
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) {
        replyFree(&body);
        storeFail(r, "pubsub replay");
        return;
    }
    addReplyArrayLen(r, n);
    addReplyRaw(r, body.buf, body.len);
    replyFree(&body);
}

/* ---- registration ---------------------------------------------------------- */

/* CMD_PUBSUB marks exactly the commands a RESP2 subscribed client may run. */
#define SUB (CMD_CONN | CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define INTROSPECT (CMD_CONN | CMD_LOADING | CMD_STALE)
static const command pubsub_subcommands[] = {
    {"pubsub|channels", pubsubChannelsCommand, -2, INTROSPECT, 0, 0, 0, "pubsub", "Returns the active channels.", "2.8.0", NULL},
    {"pubsub|numsub", pubsubNumsubCommand, -2, INTROSPECT, 0, 0, 0, "pubsub", "Returns a count of subscribers to channels.", "2.8.0", NULL},
    {"pubsub|numpat", pubsubNumpatCommand, 2, INTROSPECT, 0, 0, 0, "pubsub", "Returns a count of unique pattern subscriptions.", "2.8.0", NULL},
    {"pubsub|shardchannels", pubsubShardchannelsCommand, -2, INTROSPECT, 0, 0, 0, "pubsub", "Returns the active shard channels.", "7.0.0", NULL},
    {"pubsub|shardnumsub", pubsubShardnumsubCommand, -2, INTROSPECT, 0, 0, 0, "pubsub", "Returns the count of subscribers of shard channels.", "7.0.0", NULL},
    {"pubsub|help", pubsubHelpCommand, 2, INTROSPECT, 0, 0, 0, "pubsub", "Returns helpful text about the different subcommands.", "6.2.0", NULL},
    {"pubsub|replay", pubsubReplayCommand, -4, CMD_READONLY, 0, 0, 0, "pubsub", "Returns the retained messages of a channel published after a message id (Solidis).", "0.1.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

static const command pubsub_commands[] = {
    {"subscribe", subscribeCommand, -2, SUB, 0, 0, 0, "pubsub", "Listens for messages published to channels.", "2.0.0", NULL},
    {"unsubscribe", unsubscribeCommand, -1, SUB, 0, 0, 0, "pubsub", "Stops listening to messages posted to channels.", "2.0.0", NULL},
    {"psubscribe", psubscribeCommand, -2, SUB, 0, 0, 0, "pubsub", "Listens for messages published to channels that match one or more patterns.", "2.0.0", NULL},
    {"punsubscribe", punsubscribeCommand, -1, SUB, 0, 0, 0, "pubsub", "Stops listening to messages published to channels that match one or more patterns.", "2.0.0", NULL},
    {"ssubscribe", ssubscribeCommand, -2, SUB, 1, -1, 1, "pubsub", "Listens for messages published to shard channels.", "7.0.0", NULL},
    {"sunsubscribe", sunsubscribeCommand, -1, SUB, 1, -1, 1, "pubsub", "Stops listening to messages posted to shard channels.", "7.0.0", NULL},
    /* Not CMD_PUBSUB: Redis refuses PUBLISH in RESP2 subscribed mode. */
    {"publish", publishCommand, 3, CMD_WRITE | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_MAYREPLICATE, 0, 0, 0, "pubsub", "Posts a message to a channel.", "2.0.0", NULL},
    {"spublish", spublishCommand, 3, CMD_CONN | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_MAYREPLICATE, 1, 1, 1, "pubsub", "Post a message to a shard channel", "7.0.0", NULL},
    {"pubsub", pubsubCommand, -2, CMD_CONN | CMD_CONTAINER, 0, 0, 0, "pubsub", "A container for Pub/Sub commands.", "2.8.0", pubsub_subcommands},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* RESET: a client leaves subscribed mode with nothing subscribed. */
static void pubsubClientReset(struct client *c) {
    pubsubClientGone(c);
    clientSetSubscriptions(c, 0, 0, 0);
}

/* INFO pubsub_channels / pubsub_patterns. */
static void pubsubCounts(long *channels, long *patterns) {
    *channels = (long)registry[K_CHANNEL].used;
    *patterns = (long)registry[K_PATTERN].used;
}

/* Keyspace notifications: the core hands each committed event here (net
 * thread) and it goes out like a PUBLISH, to channels and patterns. */
static void notifySink(const char *ch, size_t chlen, const char *msg, size_t mlen) {
    fanout(K_CHANNEL, ch, chlen, msg, mlen, 0, NULL, NULL);
}

void pubsubInit(void) {
    hash_seed = (uint64_t)ustime() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    storeRegisterSchema(SCHEMA);
    commandRegisterTable(pubsub_commands);
    serverOnClientGone(pubsubClientGone);
    serverOnClientReset(pubsubClientReset);
    serverSetPubsubCounter(pubsubCounts);
    serverSetNotifySink(notifySink);
    serverRegisterIntConfig("pubsub-retention", &retention_s, "60", 0, 365LL * 24 * 3600);
    serverAddBackgroundTask("pubsub-retention", retentionTask, 1000);
}
