/*
 * conn.c — connection and server commands: PING ECHO HELLO AUTH SELECT QUIT
 * RESET CLIENT TIME SHUTDOWN LASTSAVE SAVE BGSAVE DEBUG, and the table rows
 * for every command the core itself owns.
 *
 * Net thread, except SAVE/BGSAVE whose handlers run on the writer (they only
 * ask it for a checkpoint after the batch).
 */
#include "commands.h"
#include "config.h"
#include "net.h"
#include "writer.h"
#include "multi.h"
#include "../pubsub/pubsub.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

void pingCommand(request *r) {
    if (r->argc > 2) { addReplyArityError(r); return; }
    if (r->client && r->client->subscriptions > 0 && r->resp == 2) {
        /* RESP2 subscribed mode answers PING as a push-style array. */
        addReplyArrayLen(r, 2);
        addReplyBulkCString(r, "pong");
        if (r->argc == 2) addReplyBulk(r, r->argv[1], r->argvlen[1]);
        else addReplyBulk(r, "", 0);
        return;
    }
    if (r->argc == 2) addReplyBulk(r, r->argv[1], r->argvlen[1]);
    else addReplyStatus(r, "PONG");
}

void echoCommand(request *r) { addReplyBulk(r, r->argv[1], r->argvlen[1]); }

static bool checkPassword(const char *user, size_t ulen, const char *pass, size_t plen) {
    const char *want = server_config.requirepass ? server_config.requirepass : "";
    if (user && !(ulen == 7 && memcmp(user, "default", 7) == 0)) return false;
    if (!want[0]) return true; /* default user has nopass */
    return plen == strlen(want) && memcmp(pass, want, plen) == 0;
}

void authCommand(request *r) {
    if (r->argc > 3) { addReplySyntaxError(r); return; }
    const char *pw = server_config.requirepass;
    if (r->argc == 2 && (!pw || !pw[0])) {
        addReplyError(r, "ERR AUTH <password> called without any password configured for the default user. "
                         "Are you sure your configuration is correct?");
        return;
    }
    bool ok = r->argc == 2 ? checkPassword(NULL, 0, r->argv[1], r->argvlen[1])
                           : checkPassword(r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2]);
    if (!ok) {
        addReplyError(r, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    r->client->authenticated = true;
    addReplyOK(r);
}

static bool validClientName(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '!' || s[i] > '~') return false;
    return true;
}

static void setName(client *c, const char *s, size_t n) {
    free(c->name);
    c->name = n ? strndup(s, n) : NULL;
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
void helloCommand(request *r) {
    client *c = r->client;
    int ver = c->resp;
    int i = 1;
    if (r->argc >= 2) {
        long long v;
        if (!string2ll(r->argv[1], r->argvlen[1], &v)) {
            addReplyError(r, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (v < 2 || v > 3) { addReplyError(r, "NOPROTO unsupported protocol version"); return; }
        ver = (int)v;
        i = 2;
    }
    const char *name = NULL;
    size_t namelen = 0;
    for (; i < r->argc; i++) {
        if (argIs(r, i, "auth") && i + 2 < r->argc) {
            if (!checkPassword(r->argv[i + 1], r->argvlen[i + 1], r->argv[i + 2], r->argvlen[i + 2])) {
                addReplyError(r, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            c->authenticated = true;
            i += 2;
        } else if (argIs(r, i, "setname") && i + 1 < r->argc) {
            name = r->argv[i + 1];
            namelen = r->argvlen[i + 1];
            if (!validClientName(name, namelen)) {
                addReplyError(r, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            i++;
        } else {
            addReplyErrorFormat(r, "ERR Syntax error in HELLO option '%.128s'", r->argv[i]);
            return;
        }
    }
    if (clientNeedsAuth(c)) {
        addReplyError(r, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                         "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
                         "RESP protocol version at the same time");
        return;
    }
    if (name) setName(c, name, namelen);
    c->resp = r->resp = ver;
    addReplyMapLen(r, 7);
    addReplyBulkCString(r, "server");
    addReplyBulkCString(r, "redis");
    addReplyBulkCString(r, "version");
    addReplyBulkCString(r, REDIS_COMPAT_VERSION);
    addReplyBulkCString(r, "proto");
    addReplyLongLong(r, ver);
    addReplyBulkCString(r, "id");
    addReplyLongLong(r, (long long)c->id);
    addReplyBulkCString(r, "mode");
    addReplyBulkCString(r, "standalone");
    addReplyBulkCString(r, "role");
    addReplyBulkCString(r, "master");
    addReplyBulkCString(r, "modules");
    addReplyArrayLen(r, 0);
}

void selectCommand(request *r) {
    long long db;
    if (!getLongLongArg(r, 1, &db, NULL)) return;
    if (db < 0 || db >= server_config.databases) {
        addReplyError(r, "ERR DB index is out of range");
        return;
    }
    r->client->db = (int)db;
    addReplyOK(r);
}

void quitCommand(request *r) {
    addReplyOK(r);
    r->client->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void resetCommand(request *r) {
    client *c = r->client;
    c->db = 0;
    c->resp = r->resp = 2;
    c->reply_mode = REPLY_ON;
    c->flags &= ~CLIENT_NO_EVICT;
    setName(c, NULL, 0);
    c->authenticated = !configPasswordSet();
    netForgetWatches(c);
    netClientReset(c);
    addReplyStatus(r, "RESET");
}

/* The CLIENT LIST / CLIENT INFO line of a client, with its newline. */
static void clientInfoString(client *c, reply *out) {
    long long now = mstime();
    char flags[8];
    int nf = 0;
    if (c->in_multi) flags[nf++] = 'x';
    if (c->blocking > 0) flags[nf++] = 'b';
    if (c->flags & CLIENT_NO_EVICT) flags[nf++] = 'e';
    if (c->subscriptions > 0) flags[nf++] = 'P';
    if (nf == 0) flags[nf++] = 'N';
    flags[nf] = '\0';
    replyAppendFormat(out,
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%ld psub=%ld ssub=%ld "
             "multi=%d qbuf=%zu qbuf-free=0 argv-mem=%zu multi-mem=%zu rbs=%zu rbp=0 obl=0 oll=0 omem=0 tot-mem=%zu "
             "events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
             (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
             (now - c->ctime_ms) / 1000, (now - c->last_ms) / 1000, flags, c->db, c->sub_channels, c->sub_patterns,
             c->sub_shard, c->in_multi ? c->mcount : -1,
             protoQueryBufLen(c), protoPartialArgvBytes(c), c->mcount ? c->multi_bytes : 0, c->out.cap,
             sizeof(*c) + c->out.cap, c->last_cmd[0] ? c->last_cmd : "NULL", c->resp,
             c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}

/* Redis's client classes for CLIENT LIST/KILL TYPE: a client is "pubsub"
 * while it is subscribed to anything, else "normal". There are no masters
 * or replicas here: those types are valid and match nobody. */
enum { CLIENT_TYPE_NORMAL, CLIENT_TYPE_PUBSUB, CLIENT_TYPE_NONE };

static bool parseClientType(request *r, const char *name, int *type) {
    if (!strcasecmp(name, "normal")) *type = CLIENT_TYPE_NORMAL;
    else if (!strcasecmp(name, "pubsub")) *type = CLIENT_TYPE_PUBSUB;
    else if (!strcasecmp(name, "master") || !strcasecmp(name, "replica") || !strcasecmp(name, "slave"))
        *type = CLIENT_TYPE_NONE;
    else {
        addReplyErrorFormat(r, "ERR Unknown client type '%.128s'", name);
        return false;
    }
    return true;
}

static bool clientIsType(const client *c, int type) {
    return type == (c->subscriptions > 0 ? CLIENT_TYPE_PUBSUB : CLIENT_TYPE_NORMAL);
}

static void replyClientList(request *r, client *only, const char *type_name) {
    int type = -1;
    if (type_name && !parseClientType(r, type_name, &type)) return;
    reply text;
    replyInit(&text);
    for (client *c = netClientList(); c; c = c->next) {
        if (c->flags & CLIENT_CLOSED) continue;
        if (only && c != only) continue;
        if (type >= 0 && !clientIsType(c, type)) continue;
        clientInfoString(c, &text);
    }
    addReplyVerbatim(r, text.buf, text.len, "txt");
    replyFree(&text);
}

/* CLIENT KILL addr | CLIENT KILL [ID id] [ADDR a] [LADDR a] [SKIPME yes/no] [USER u] [TYPE t]
 * [MAXAGE s]. Every client is the default user's (there are no others). */
static void clientKill(request *r) {
    client *me = r->client;
    if (r->argc == 3) {
        for (client *c = netClientList(); c; c = c->next) {
            if (!(c->flags & CLIENT_CLOSED) && strcmp(c->addr, r->argv[2]) == 0) {
                if (c == me) me->flags |= CLIENT_CLOSE_AFTER_REPLY;
                else netCloseClient(c);
                addReplyOK(r);
                return;
            }
        }
        addReplyError(r, "ERR No such client");
        return;
    }
    long long id = -1, maxage = -1;
    int type = -1;
    const char *addr = NULL, *laddr = NULL;
    bool skipme = true;
    if (r->argc % 2 != 0) { addReplySyntaxError(r); return; }
    for (int i = 2; i < r->argc; i += 2) {
        if (argIs(r, i, "id")) {
            if (!string2ll(r->argv[i + 1], r->argvlen[i + 1], &id) || id <= 0) {
                addReplyError(r, "ERR client-id should be greater than 0");
                return;
            }
        } else if (argIs(r, i, "addr")) addr = r->argv[i + 1];
        else if (argIs(r, i, "laddr")) laddr = r->argv[i + 1];
        else if (argIs(r, i, "skipme")) {
            if (argIs(r, i + 1, "yes")) skipme = true;
            else if (argIs(r, i + 1, "no")) skipme = false;
            else { addReplySyntaxError(r); return; }
        } else if (argIs(r, i, "type")) {
            if (!parseClientType(r, r->argv[i + 1], &type)) return;
        } else if (argIs(r, i, "user")) {
            if (strcmp(r->argv[i + 1], "default") != 0) {
                addReplyErrorFormat(r, "ERR No such user '%.128s'", r->argv[i + 1]);
                return;
            }
        } else if (argIs(r, i, "maxage")) { /* Redis 7.4: connections older than this many seconds */
            if (!string2ll(r->argv[i + 1], r->argvlen[i + 1], &maxage) || maxage < 0) {
                addReplySyntaxError(r);
                return;
            }
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    long long killed = 0;
    client *next;
    for (client *c = netClientList(); c; c = next) {
        next = c->next;
        if (c->flags & CLIENT_CLOSED) continue;
        if (id > 0 && c->id != (uint64_t)id) continue;
        if (addr && strcmp(c->addr, addr) != 0) continue;
        if (laddr && strcmp(c->laddr, laddr) != 0) continue;
        if (type >= 0 && !clientIsType(c, type)) continue;
        if (maxage >= 0 && (mstime() - c->ctime_ms) / 1000 < maxage) continue;
        if (c == me && skipme) continue;
        if (c == me) me->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else netCloseClient(c);
        killed++;
    }
    addReplyLongLong(r, killed);
}

void clientCommand(request *r) {
    client *c = r->client;
    if (argIs(r, 1, "id") && r->argc == 2) {
        addReplyLongLong(r, (long long)c->id);
    } else if (argIs(r, 1, "setname") && r->argc == 3) {
        if (!validClientName(r->argv[2], r->argvlen[2])) {
            addReplyError(r, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        setName(c, r->argv[2], r->argvlen[2]);
        addReplyOK(r);
    } else if (argIs(r, 1, "getname") && r->argc == 2) {
        if (c->name) addReplyBulkCString(r, c->name);
        else addReplyNull(r);
    } else if (argIs(r, 1, "list")) {
        if (r->argc == 2) replyClientList(r, NULL, NULL);
        else if (r->argc == 4 && argIs(r, 2, "type")) replyClientList(r, NULL, r->argv[3]);
        else if (r->argc >= 4 && argIs(r, 2, "id")) {
            reply text;
            replyInit(&text);
            for (int i = 3; i < r->argc; i++) {
                long long id;
                if (!string2ll(r->argv[i], r->argvlen[i], &id)) {
                    replyFree(&text);
                    addReplyError(r, "ERR Invalid client ID");
                    return;
                }
                client *o = netClientById((uint64_t)id);
                if (!o) continue;
                clientInfoString(o, &text);
            }
            addReplyVerbatim(r, text.buf, text.len, "txt");
            replyFree(&text);
        } else addReplySyntaxError(r);
    } else if (argIs(r, 1, "info") && r->argc == 2) {
        replyClientList(r, c, NULL);
    } else if (argIs(r, 1, "kill") && r->argc >= 3) {
        clientKill(r);
    } else if (argIs(r, 1, "reply") && r->argc == 3) {
        if (argIs(r, 2, "on")) { c->reply_mode = REPLY_ON; addReplyOK(r); }
        else if (argIs(r, 2, "off")) c->reply_mode = REPLY_OFF;
        else if (argIs(r, 2, "skip")) { if (c->reply_mode == REPLY_ON) c->reply_mode = REPLY_SKIP_NEXT; }
        else addReplySyntaxError(r);
    } else if ((argIs(r, 1, "no-evict") || argIs(r, 1, "no-touch")) && r->argc == 3) {
        if (argIs(r, 2, "on")) { if (argIs(r, 1, "no-evict")) c->flags |= CLIENT_NO_EVICT; addReplyOK(r); }
        else if (argIs(r, 2, "off")) { if (argIs(r, 1, "no-evict")) c->flags &= ~CLIENT_NO_EVICT; addReplyOK(r); }
        else addReplySyntaxError(r);
    } else if (argIs(r, 1, "setinfo") && r->argc == 4) {
        if (!validClientName(r->argv[3], r->argvlen[3])) {
            addReplyErrorFormat(r, "ERR %s cannot contain spaces, newlines or special characters.", r->argv[2]);
            return;
        }
        if (argIs(r, 2, "lib-name")) { free(c->lib_name); c->lib_name = strdup(r->argv[3]); }
        else if (argIs(r, 2, "lib-ver")) { free(c->lib_ver); c->lib_ver = strdup(r->argv[3]); }
        else { addReplyErrorFormat(r, "ERR Unrecognized option '%.128s'", r->argv[2]); return; }
        addReplyOK(r);
    } else if ((argIs(r, 1, "pause") && r->argc >= 3) || (argIs(r, 1, "unpause") && r->argc == 2)) {
        addReplyOK(r);
    } else if (argIs(r, 1, "help") && r->argc == 2) {
        static const char *help[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME", "    Return the name of the current connection.",
            "ID", "    Return the ID of the current connection.",
            "INFO", "    Return information about the current client connection.",
            "KILL <ip:port>", "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME.",
            "LIST [TYPE normal] [ID <id> [...]]", "    Return information about client connections.",
            "NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction.",
            "PUBSUB-IDS (ON|OFF)", "    Add the message log id to the pub/sub messages this connection receives (Solidis).",
            "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
            "SETNAME <name>", "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "HELP", "    Print this help."};
        addReplyArrayLen(r, sizeof(help) / sizeof(help[0]));
        for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(r, help[i]);
    } else {
        static const char *const known[] = {"id", "setname", "getname", "list", "info", "kill", "reply",
                                            "no-evict", "no-touch", "setinfo", "pause", "unpause", NULL};
        for (int i = 0; known[i]; i++)
            if (argIs(r, 1, known[i])) {
                char sub[32];
                size_t k = 0;
                for (; known[i][k]; k++) sub[k] = known[i][k];
                sub[k] = '\0';
                addReplyErrorFormat(r, "ERR wrong number of arguments for 'client|%s' command", sub);
                return;
            }
        addReplyErrorFormat(r, "ERR unknown subcommand '%.128s'. Try CLIENT HELP.", r->argv[1]);
    }
}

void timeCommand(request *r) {
    long long us = ustime();
    addReplyArrayLen(r, 2);
    addReplyBulkLongLong(r, us / 1000000);
    addReplyBulkLongLong(r, us % 1000000);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every acknowledged write is
 * already committed, so NOSAVE and SAVE both drain the writer and exit 0. */
void shutdownCommand(request *r) {
    for (int i = 1; i < r->argc; i++) {
        if (argIs(r, i, "abort")) { addReplyError(r, "ERR No shutdown in progress."); return; }
        if (!argIs(r, i, "nosave") && !argIs(r, i, "save") && !argIs(r, i, "now") && !argIs(r, i, "force")) {
            addReplySyntaxError(r);
            return;
        }
    }
    serverLog(LL_WARNING, "User requested shutdown...");
    netRequestShutdown(0);
}

static long long lastsave_s;

void lastsaveCommand(request *r) { addReplyLongLong(r, __atomic_load_n(&lastsave_s, __ATOMIC_RELAXED)); }

void serverNoteSave(void) { __atomic_store_n(&lastsave_s, mstime() / 1000, __ATOMIC_RELAXED); }

/* Writer thread: a checkpoint after this batch commits. */
void saveCommand(request *r) {
    writerRequestCheckpoint();
    addReplyOK(r);
}

void bgsaveCommand(request *r) {
    if (r->argc > 2 || (r->argc == 2 && !argIs(r, 1, "schedule"))) { addReplySyntaxError(r); return; }
    writerRequestCheckpoint();
    addReplyStatus(r, r->argc == 2 ? "Background saving scheduled" : "Background saving started");
}

static int active_expire = 1; /* DEBUG SET-ACTIVE-EXPIRE; read by the writer's tasks */

bool serverActiveExpire(void) { return __atomic_load_n(&active_expire, __ATOMIC_RELAXED); }

/* Net thread. */
void debugCommand(request *r) {
    if (argIs(r, 1, "set-active-expire") && r->argc == 3) {
        /* atoi(), as Redis reads it: "1abc" is 1, "x" is 0 (argv ends in NUL) */
        __atomic_store_n(&active_expire, atoi(r->argv[2]) != 0, __ATOMIC_RELAXED);
        addReplyOK(r);
    } else if (argIs(r, 1, "sleep") && r->argc == 3) {
        long double secs;
        if (!string2ld(r->argv[2], r->argvlen[2], &secs) || secs < 0) { addReplyError(r, ERR_NOT_FLOAT); return; }
        if (secs > 1e9) secs = 1e9; /* keeps the conversion below defined (usleep's 32 bits wrapped) */
        struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9L)};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
        addReplyOK(r);
    } else if (argIs(r, 1, "help")) {
        addReplyArrayLen(r, 5);
        addReplyStatus(r, "DEBUG SLEEP <seconds>");
        addReplyStatus(r, "DEBUG SET-ACTIVE-EXPIRE <0|1>");
        addReplyStatus(r, "DEBUG FAIL-WRITE");
        addReplyStatus(r, "DEBUG FAIL-SERVED-WAITER");
        addReplyStatus(r, "DEBUG MAX-PAGE-COUNT <pages>");
    } else {
        addReplyErrorFormat(r, "ERR unknown subcommand '%.128s'. Try DEBUG HELP.", r->argv[1]);
    }
}

/* DEBUG FAIL-WRITE: a write that then fails in "SQLite", for tests of the
 * rule that one failing command never spoils the rest of its batch.
 * Writer thread. */
static void debugFailWriteCommand(request *r) {
    static const char SQL[] = "INSERT OR REPLACE INTO meta VALUES('debug_fail_write', 1)";
    sqlite3_stmt *s = stmtGet(r->st, SQL);
    if (s) {
        sqlite3_step(s);
        stmtDone(s);
    }
    r->store_error = true;
    addReplyError(r, "ERR storage error in debug fail-write: injected failure");
}

/* DEBUG MAX-PAGE-COUNT n: cap the database file at n pages (SQLite clamps
 * it to the current size), so a write that needs new pages fails in the
 * middle of its statement, for tests of what the writer then does. Replies
 * the cap in force. Writer thread. */
static void debugMaxPageCountCommand(request *r) {
    long long n;
    if (!getLongLongArg(r, 2, &n, NULL)) return;
    if (n < 1 || n > 4294967294LL) { addReplyError(r, "ERR page count out of range"); return; }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", n);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(storeDb(r->st), sql, -1, &s, NULL) != SQLITE_OK) {
        storeFail(r, "debug max-page-count");
        return;
    }
    long long now = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    addReplyLongLong(r, now);
}

/* DEBUG FAIL-SERVED-WAITER: the next blocked client this writer serves
 * fails after its writes, once (writer.c), for tests of what a batch does
 * when a waiter it serves fails. Writer thread. */
static void debugFailServedWaiterCommand(request *r) {
    writerDebugFailServedWaiter();
    addReplyOK(r);
}

static const command debug_subcommands[] = {
    {"debug|fail-write", debugFailWriteCommand, 2, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "server", "Fails a write on purpose (tests).", "1.0.0", NULL},
    {"debug|fail-served-waiter", debugFailServedWaiterCommand, 2, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "server", "Fails the next served blocked command after its writes (tests).", "1.0.0", NULL},
    {"debug|max-page-count", debugMaxPageCountCommand, 3, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "server", "Caps the database file's pages (tests).", "1.0.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* CLIENT subcommands with rows of their own: UNBLOCK must run on the writer
 * (where the parked requests live), PUBSUB-IDS is the pub/sub module's. The
 * rest are handled by clientCommand on the net thread. */
static const command client_subcommands[] = {
    {"client|unblock", clientUnblockCommand, -3, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "connection", "Unblocks a client blocked by a blocking command from a different connection.", "5.0.0", NULL},
    {"client|pubsub-ids", clientPubsubIdsCommand, 3, CMD_CONN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "connection", "Adds the message log id to the pub/sub messages of the connection (Solidis).", "0.1.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

#define CONN (CMD_CONN | CMD_FAST)
static const command server_commands[] = {
    {"multi", multiCommand, 1, CONN, 0, 0, 0, "transactions", "Starts a transaction.", "1.2.0", NULL},
    {"exec", execCommand, 1, CMD_WRITE, 0, 0, 0, "transactions", "Executes all commands in a transaction.", "1.2.0", NULL},
    {"discard", discardCommand, 1, CMD_WRITE | CMD_FAST, 0, 0, 0, "transactions", "Discards a transaction.", "2.0.0", NULL},
    {"watch", watchCommand, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "transactions", "Monitors changes to keys to determine the execution of a transaction.", "2.2.0", NULL},
    {"unwatch", unwatchCommand, 1, CMD_WRITE | CMD_FAST, 0, 0, 0, "transactions", "Forgets about watched keys of a transaction.", "2.2.0", NULL},
    {"ping", pingCommand, -1, CONN, 0, 0, 0, "connection", "Returns the server's liveliness response.", "1.0.0", NULL},
    {"echo", echoCommand, 2, CONN, 0, 0, 0, "connection", "Returns the given string.", "1.0.0", NULL},
    {"hello", helloCommand, -1, CONN | CMD_NOAUTH, 0, 0, 0, "connection", "Handshakes with the Redis server.", "6.0.0", NULL},
    {"auth", authCommand, -2, CONN | CMD_NOAUTH, 0, 0, 0, "connection", "Authenticates the connection.", "1.0.0", NULL},
    {"select", selectCommand, 2, CONN, 0, 0, 0, "connection", "Changes the selected database.", "1.0.0", NULL},
    {"quit", quitCommand, -1, CONN | CMD_NOAUTH, 0, 0, 0, "connection", "Closes the connection.", "1.0.0", NULL},
    {"reset", resetCommand, 1, CONN | CMD_NOAUTH, 0, 0, 0, "connection", "Resets the connection.", "6.2.0", NULL},
    {"client", clientCommand, -2, CMD_CONN | CMD_CONTAINER, 0, 0, 0, "connection", "A container for client connection commands.", "2.4.0", client_subcommands},
    {"command", commandCommand, -1, CMD_CONN | CMD_CONTAINER, 0, 0, 0, "server", "Returns detailed information about all commands.", "2.8.13", NULL},
    {"config", configCommand, -2, CMD_CONN | CMD_ADMIN | CMD_CONTAINER, 0, 0, 0, "server", "A container for server configuration commands.", "2.0.0", NULL},
    {"info", infoCommand, -1, CMD_CONN, 0, 0, 0, "server", "Returns information and statistics about the server.", "1.0.0", NULL},
    {"time", timeCommand, 1, CONN, 0, 0, 0, "server", "Returns the server time.", "2.6.0", NULL},
    {"shutdown", shutdownCommand, -1, CMD_CONN | CMD_ADMIN, 0, 0, 0, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", NULL},
    {"lastsave", lastsaveCommand, 1, CONN, 0, 0, 0, "server", "Returns the Unix timestamp of the last successful save to disk.", "1.0.0", NULL},
    {"save", saveCommand, 1, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "server", "Synchronously saves the database(s) to disk.", "1.0.0", NULL},
    {"bgsave", bgsaveCommand, -1, CMD_WRITE | CMD_ADMIN, 0, 0, 0, "server", "Asynchronously saves the database(s) to disk.", "1.0.0", NULL},
    {"debug", debugCommand, -2, CMD_CONN | CMD_ADMIN | CMD_CONTAINER, 0, 0, 0, "server", "A container for debugging commands.", "1.0.0", debug_subcommands},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void serverCommandsInit(void) {
    serverNoteSave();
    commandRegisterTable(server_commands);
}
