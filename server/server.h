/*
 * server.h — the seam between the server core and the command modules.
 *
 * The core (this folder) owns the process, the config, the network loop, the
 * RESP protocol, the command table, the SQLite store and the writer thread.
 * Command modules (cache/, later queue/ and pubsub/) see only this header:
 * a request to execute, reply helpers to answer it, and the store helpers to
 * read and change keys.
 *
 * Threads: a request is executed either on the net thread (read-only and
 * connection commands, against the net thread's read connection) or on the
 * writer thread (write commands, inside the writer's open batch transaction).
 * A handler never needs to know which: it gets everything through `request`,
 * and must touch nothing else that is shared.
 *
 * Snapshots: every statement of one command sees the same snapshot, so a
 * handler never opens a transaction of its own. The net thread runs the read
 * commands of one event-loop turn inside one read transaction (net.c,
 * beginRead); the writer runs each command inside its batch transaction.
 */
#ifndef SOLIDIS_SERVER_H
#define SOLIDIS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sqlite3.h>

#define SOLIDIS_VERSION "0.1.0"
#define REDIS_COMPAT_VERSION "7.2.4"

struct client;
struct command;
struct store;

/* ---- replies ----------------------------------------------------------- */

/* A growable byte buffer holding RESP-encoded replies. Owned by whoever
 * executes the request; the net thread copies it to the socket. */
typedef struct reply {
    char *buf;
    size_t len, cap;
    char inl[96]; /* small replies never touch malloc */
} reply;

void replyInit(reply *o);
void replyFree(reply *o);
void replyReset(reply *o);
void replyAppend(reply *o, const void *p, size_t n);
/* printf into a reply buffer, however long the result. */
void replyAppendFormat(reply *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- requests ---------------------------------------------------------- */

typedef struct request {
    int argc;
    char **argv;        /* NUL-terminated copies; argvlen gives real length */
    size_t *argvlen;
    const struct command *cmd;
    int db;             /* selected database at the time the request was read */
    int resp;           /* 2 or 3 */
    long long now_ms;   /* wall clock sampled once per command */
    struct store *st;   /* the SQLite connection this request runs on */
    reply *out;         /* where the handler writes its reply */
    struct client *client; /* set only for commands run on the net thread */
    int dirty;          /* keys changed, for stats and future WATCH */
    bool store_error;   /* a SQLite call failed: the writer rolls this command back */
    bool in_multi;      /* running inside EXEC: blocking commands must not block */
    uint64_t client_id; /* the issuing client (WATCH, CLIENT UNBLOCK); ids are never reused */
    struct request *multi; /* EXEC: the queued requests, run in order */
    int multi_count;
    int new_db;         /* EXEC: SELECT inside the transaction, for the client (-1 none) */
    /* Set by a writer-side handler that must finish its reply on the net
     * thread after the commit (PUBLISH counts receivers there). Called with
     * r->client set and r->out the client's output; `delivery_arg` is the
     * handler's to own (freed by the callback). It is also called when the
     * commit failed: r->out then already holds the error reply, and the hook
     * must add nothing. Inside EXEC it runs in the command's place. */
    void (*on_delivery)(struct request *r);
    void *delivery_arg;
    struct block_state *block; /* writer-side: set by requestBlock() */
} request;

void requestFreeArgv(request *r);

/* Reply helpers, Redis-style. All append to r->out, honouring r->resp. */
void addReplyRaw(request *r, const char *s, size_t n);
void addReplyStatus(request *r, const char *s);          /* +s */
void addReplyOK(request *r);
void addReplyError(request *r, const char *s);           /* -ERR s unless s starts with a code */
void addReplyErrorFormat(request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void addReplyLongLong(request *r, long long v);          /* :v */
void addReplyBulk(request *r, const void *p, size_t n);  /* $n */
void addReplyBulkCString(request *r, const char *s);
void addReplyBulkLongLong(request *r, long long v);
void addReplyNull(request *r);                           /* $-1 / _ */
void addReplyNullArray(request *r);                      /* *-1 / _ */
void addReplyArrayLen(request *r, long n);
void addReplyMapLen(request *r, long n);                 /* *2n / %n */
void addReplySetLen(request *r, long n);                 /* *n / ~n */
void addReplyDouble(request *r, double d);               /* bulk / ,d */
void addReplyBool(request *r, int b);                    /* :1 / #t */
void addReplyVerbatim(request *r, const char *s, size_t n, const char *ext);
void addReplyHumanLongDouble(request *r, long double d); /* INCRBYFLOAT style bulk */
void addReplyArityError(request *r);
/* SRANDMEMBER / ZRANDMEMBER / HRANDFIELD with a negative count: false (and
 * the error replied) when `picks` repeated elements could not fit in a
 * reply of proto-max-bulk-len bytes. */
bool checkRandomRepeats(request *r, unsigned long long picks);
void addReplySyntaxError(request *r);
void addReplyWrongType(request *r);

/* Deferred lengths, for replies whose element count is known only at the
 * end (Redis's addReplyDeferredLen):
 *     size_t mark = addReplyDeferredLen(r);
 *     ... add the n elements ...
 *     setDeferredArrayLen(r, mark, n);
 * The header goes in at the mark (RESP2/RESP3 aware as addReply*Len). A SCAN
 * family reply [cursor, [n elements]] takes setDeferredScanReply; an empty
 * one is setDeferredScanReply(r, addReplyDeferredLen(r), 0, 0).
 * A command that fails midway calls discardDeferredReply(r, mark) to drop
 * what it wrote since the mark (addReplyDeferredLen(), or r->out->len taken
 * before a header it wrote itself), keeping only the error line when the
 * failure was a storage error (storeFail() appended it last). */
size_t addReplyDeferredLen(request *r);
void setDeferredArrayLen(request *r, size_t mark, long n);
void setDeferredMapLen(request *r, size_t mark, long n);  /* n pairs: *2n / %n */
void setDeferredSetLen(request *r, size_t mark, long n);  /* *n / ~n */
void setDeferredScanReply(request *r, size_t mark, long long cursor, long n);
void discardDeferredReply(request *r, size_t mark);

/* Common error texts, as Redis spells them. */
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NO_KEY "ERR no such key"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"

/* ---- clients, for modules with per-connection state (net thread only) -- */

uint64_t clientId(struct client *c);
int clientResp(struct client *c);
/* Queue bytes for the client (a push message) and try to send them now.
 * Applies the pub/sub output buffer limits; may close the client. */
void clientPush(struct client *c, const void *buf, size_t len);
/* One opaque slot per client for the pub/sub module's state. */
void **clientPubsubSlot(struct client *c);
/* RESP2 clients with subscriptions may only run (P|S)(UN)SUBSCRIBE, PING,
 * QUIT, RESET: the net thread enforces it from these counts, which CLIENT
 * LIST also shows (sub= psub= ssub=). */
void clientSetSubscriptions(struct client *c, long channels, long patterns, long shard);
long clientSubscriptions(struct client *c);
/* Called for every client that goes away, and for RESET (net thread). A hook
 * may run twice for one client — at close, and again when it is freed, for
 * state a still-running EXEC added in between — so it must be idempotent. */
void serverOnClientGone(void (*fn)(struct client *c));
void serverOnClientReset(void (*fn)(struct client *c));
/* INFO's pubsub_channels / pubsub_patterns come from this (net thread). */
void serverSetPubsubCounter(void (*fn)(long *channels, long *patterns));

/* ---- numbers and strings (util.c) ------------------------------------- */

bool string2ll(const char *s, size_t len, long long *v);
bool string2ld(const char *s, size_t len, long double *v);
bool string2d(const char *s, size_t len, double *v);
bool addOverflows(long long a, long long b); /* would a + b leave long long? */
int ll2string(char *dst, size_t dstlen, long long v);
int ld2string(char *buf, size_t len, long double value); /* human form */
int d2string(char *buf, size_t len, double value);       /* Redis %.17g form */
bool stringmatchlen(const char *pat, size_t patlen, const char *s, size_t slen, bool nocase);
bool splitArgs(const char *line, size_t len, int *argc, char ***argv, size_t **lens);
long long mstime(void);
long long ustime(void);
/* Parse an integer argument or reply ERR_NOT_INT (or `err`), returning false. */
bool getLongLongArg(request *r, int idx, long long *v, const char *err);
bool getPositiveLongArg(request *r, int idx, long long *v, const char *err);
bool argIs(request *r, int idx, const char *word); /* case-insensitive */
/* A SCAN-family cursor at argv[idx], or reply "ERR invalid cursor". */
bool parseScanCursor(request *r, int idx, unsigned long long *cursor);
/* A fast per-thread pseudo-random number (not for anything secret). */
uint64_t serverRandom(void);

/* ---- command table ----------------------------------------------------- */

enum {
    CMD_WRITE = 1 << 0,     /* runs on the writer thread inside a batch */
    CMD_READONLY = 1 << 1,  /* runs on the net thread's read connection */
    CMD_ADMIN = 1 << 2,
    CMD_FAST = 1 << 3,
    CMD_NOAUTH = 1 << 4,    /* allowed before AUTH */
    CMD_CONN = 1 << 5,      /* connection state; runs on the net thread, no storage */
    CMD_LOADING = 1 << 6,
    CMD_STALE = 1 << 7,
    CMD_NOSCRIPT = 1 << 8,
    CMD_BLOCKING = 1 << 9,
    CMD_PUBSUB = 1 << 10,
    CMD_DENYOOM = 1 << 11,
    CMD_MAYREPLICATE = 1 << 12,
    CMD_RANDOM = 1 << 13,
    CMD_CONTAINER = 1 << 14, /* has subcommands: CLIENT, CONFIG, OBJECT... */
};

typedef void command_proc(request *r);

typedef struct command {
    const char *name;
    command_proc *proc;
    int arity;          /* >0 exact, <0 at least -arity */
    int flags;
    int first_key, last_key, key_step;
    const char *group;  /* COMMAND DOCS group */
    const char *summary;
    const char *since;
    const struct command *subcommands; /* NULL-name terminated, or NULL */
} command;

const command *commandLookup(const char *name, size_t len);
/* Whether argc (the command name included) fits the command's arity. */
bool commandArityOk(const command *c, int argc);
/* Modules register their rows at start-up (before the loop runs). The table
 * must stay alive for the life of the process; it ends with a NULL name. */
void commandRegisterTable(const command *cmds);

/* ---- store (SQLite) ---------------------------------------------------- */

/* Key types as stored in keys.type (OBJ_ANY: lookups that take any type). */
enum { OBJ_ANY = -1, OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_STREAM = 5 };

const char *typeName(int type);

/* A prepared statement cached per connection, keyed by the address of its
 * static SQL text. The returned statement is reset and cleared of bindings
 * when it is returned to the pool by stmtDone(). */
sqlite3_stmt *stmtGet(struct store *st, const char *sql);
void stmtDone(sqlite3_stmt *s);
/* A BLOB (or TEXT) column of the current row and its length; never NULL: a
 * NULL or empty value is "" with length 0. Valid until the next step/reset. */
const void *stmtColumnBlob(sqlite3_stmt *s, int col, size_t *len);
sqlite3 *storeDb(struct store *st);
/* Report an unexpected SQLite failure as an -ERR reply; returns false. */
bool storeFail(request *r, const char *what);

/* One row of the keys table, as returned by keyLookup. */
typedef struct keyrow {
    int64_t id;
    int type;
    long long expires_at; /* ms since epoch, 0 = none */
    long long count;      /* typed lookups: the element count kept in keys.value */
    int enc;              /* typed lookups: keys.enc (0 for NULL) */
} keyrow;

/* Find a live key. Expired keys are reported missing. On the writer an
 * expired key found on the way is deleted (so NX/INCR treat it as new). */
bool keyLookup(request *r, int db, const char *key, size_t klen, keyrow *row);
/* The same for a command on keys of `type` (OBJ_ANY: any type), also
 * filling row->count. Returns 1 found, 0 missing (or expired), -1 after
 * replying: WRONGTYPE for a key of another type, or a storage error.
 * lookupTyped() looks up argv[idx] in the request's database. */
int keyLookupTyped(request *r, int db, const char *key, size_t klen, int type, keyrow *row);
int lookupTyped(request *r, int idx, int type, keyrow *row);
/* Types with elements (lists, sets, sorted sets, hashes) keep their element
 * count in keys.value and exist only while it is above 0 (streams excepted:
 * an emptied stream stays, as in Redis; queue/t_stream.c). keyCreate inserts
 * the keys row of a new key (id from keyNewId, usually already given to its
 * elements; expires_at 0 = none); keySetCount stores a new count and deletes
 * the key (keyDelete) when it is 0. Both return false after storeFail(), and
 * leave keyTouched() to the caller, which knows whether anything changed. */
bool keyCreate(request *r, int db, const char *key, size_t klen, int64_t id, int type, long long count,
               long long expires_at);
bool keySetCount(request *r, int db, const char *key, size_t klen, long long count);
/* Delete a key of any type (and its elements). Returns true if it existed. */
bool keyDelete(request *r, int db, const char *key, size_t klen);
/* Allocate a new key id (writer only). */
int64_t keyNewId(request *r);
/* Set or clear (0) the expiry of an existing key. */
bool keySetExpire(request *r, int db, const char *key, size_t klen, long long at_ms);

/* Every write handler calls keyTouched() for each key it changed (created,
 * modified, deleted, expired). It drives WATCH, wakes blocked clients, and
 * later keyspace notifications. keyDelete/keySetExpire call it themselves.
 * keyTouchedDb(db) (-1 = all) is for FLUSHDB/FLUSHALL. Writer thread only. */
void keyTouched(request *r, int db, const char *key, size_t klen);
void keyTouchedDb(request *r, int db);

/* Blocking commands (flag CMD_BLOCKING, run on the writer). When there is
 * nothing to serve, the handler replies nothing and calls requestBlock() with
 * the argv range of the keys it waits on (argv[first_key] and the nkeys-1
 * after it) and an absolute deadline (0 = wait forever). The writer parks the
 * request and re-runs the same handler, inside the batch that touched one of
 * those keys (so the pop commits with the push that fed it), serving waiters
 * of a key in FIFO order. If the deadline passes the client gets a null array
 * (null bulk when null_bulk is set). Inside MULTI nothing blocks: requestBlock
 * replies that timeout reply at once and returns false. */
bool requestBlock(request *r, int first_key, int nkeys, long long deadline_ms, bool null_bulk);
/* After requestBlock: also re-run the handler at wake_at_ms (e.g. when a
 * delayed job becomes due) even if none of its keys is touched. */
void requestBlockWake(request *r, long long wake_at_ms);
/* Parse a blocking timeout in seconds (fractional allowed) into an absolute
 * deadline in ms (0 = forever). Replies Redis's error and returns false. */
bool getBlockingTimeout(request *r, int idx, long long *deadline_ms);

/* False after DEBUG SET-ACTIVE-EXPIRE 0: background expiry (of keys, of hash
 * fields) pauses; lazy expiry on access goes on. Any thread. */
bool serverActiveExpire(void);

/* Extra schema for a module's tables (CREATE ... IF NOT EXISTS; triggers that
 * delete a type's elements when its keys row goes). Register before start. */
void storeRegisterSchema(const char *sql);
/* Run on the writer's connection when it opens, after every schema and
 * before anything is served: for data fixes a schema string cannot make
 * cheaply. An SQLite error code other than SQLITE_OK stops the start.
 * Register before start. */
void storeRegisterStartup(int (*fn)(sqlite3 *db));
/* An SQL function on the writer's connection, for a module's own statements
 * (e.g. to learn which rows an UPDATE changed). Register before start. */
void storeRegisterFunction(const char *name, int nargs, void (*fn)(sqlite3_context *, int, sqlite3_value **));
/* COPY of a key of `type`: SQL copying its elements from id ?1 to id ?2 (the
 * keys row itself, with keys.value, is copied by COPY). A type whose data
 * spans two tables registers two statements; COPY runs them in order.
 * storeCopySql(type, i) is the i-th, NULL past the last. */
void storeRegisterCopy(int type, const char *sql);
const char *storeCopySql(int type, int i);
/* OBJECT ENCODING of a key of `type`: the name Redis 7.2 would give it for
 * its current contents (keys.id, keys.value as the element count, keys.enc);
 * NULL after a storage error (replied). Types without one answer "listpack". */
typedef const char *encoding_fn(request *r, int64_t id, long long count, int enc);
void storeRegisterEncoding(int type, encoding_fn *fn);
encoding_fn *storeEncodingFn(int type);
/* Run `sql` (one integer result; ?1 = id) for an encoding function: false
 * after a storage error (replied). A NULL result reads as 0. */
bool storeIdScalar(request *r, const char *sql, int64_t id, long long *v);

/* Net thread only: a bounded cache of string values (readcache.c) that
 * string reads may consult before SQLite and fill after it. The writer keeps
 * it coherent through keyTouched(); callers never invalidate. val == NULL in
 * readCachePut caches "no such key". */
enum { READ_CACHE_MISS = 0, READ_CACHE_HIT, READ_CACHE_NO_KEY };
int readCacheGet(int db, const char *key, size_t klen, long long now, const char **val, size_t *len);
void readCachePut(int db, const char *key, size_t klen, const char *val, size_t vlen, long long expires_at);

/* Keyspace notifications (notify-keyspace-events), as Redis: a write handler
 * calls notifyKeyspaceEvent() for each change with its class and event name
 * ("set", "del", "expired", "hset", "lpush"...). Writer thread; events are
 * published to __keyspace@<db>__:<key> / __keyevent@<db>__:<event> after the
 * commit, by the sink the pub/sub module registers (net thread). */
enum {
    NOTIFY_KEYSPACE = 1 << 0, NOTIFY_KEYEVENT = 1 << 1, NOTIFY_GENERIC = 1 << 2, NOTIFY_STRING = 1 << 3,
    NOTIFY_LIST = 1 << 4, NOTIFY_SET = 1 << 5, NOTIFY_HASH = 1 << 6, NOTIFY_ZSET = 1 << 7,
    NOTIFY_EXPIRED = 1 << 8, NOTIFY_EVICTED = 1 << 9, NOTIFY_STREAM = 1 << 10, NOTIFY_KEY_MISS = 1 << 11,
    NOTIFY_MODULE = 1 << 12, NOTIFY_NEW = 1 << 13,
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET |
                 NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};
void notifyKeyspaceEvent(request *r, int cls, const char *event, int db, const char *key, size_t klen);
bool notifyWanted(int cls); /* skip work when nobody listens */
void serverSetNotifySink(void (*fn)(const char *ch, size_t chlen, const char *msg, size_t mlen));

/* A module's own integer option, settable like the built-in ones (config
 * file, --name value, CONFIG GET/SET). Register from the module's init;
 * read it with __atomic_load_n(ptr, __ATOMIC_RELAXED) from any thread. */
void serverRegisterIntConfig(const char *name, long long *ptr, const char *def, long long min, long long max);

/* INFO: a module's own section, shown by INFO, INFO all and INFO <name>.
 * Net thread; r->st is the read connection. Register before start. */
void serverRegisterInfoSection(const char *name, void (*fill)(reply *out, request *r));

/* Background work on the writer thread, between batches, each call in its
 * own transaction. Returns true when it has more to do right away.
 * Register before the server starts. */
typedef bool background_task(request *r);
void serverAddBackgroundTask(const char *name, background_task *fn, int interval_ms);
/* Statistics the modules feed (any thread). */
void serverNoteExpired(long long n);
void serverNoteKeyspace(bool hit); /* net thread: INFO keyspace_hits/misses */

/* Config values needed by command modules (read-only for them). */
long long configProtoMaxBulkLen(void);
bool configPasswordSet(void); /* requirepass is not empty */
int configDatabases(void);

#endif
