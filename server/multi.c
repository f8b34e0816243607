/*
 * multi.c — transactions: MULTI EXEC DISCARD WATCH UNWATCH, the writer-side
 * FORGET (a client went away) and CLIENT UNBLOCK.
 *
 * Net thread: MULTI starts queueing; queued requests are checked (unknown
 * command, arity, auth) as Redis does, and any failure makes EXEC answer
 * -EXECABORT. EXEC hands the whole queue to the writer as ONE job, so the
 * transaction runs inside one batch, in one SQLite transaction, with no other
 * client's command between its commands, and commits atomically with the
 * batch: nobody sees half of it.
 *
 * Writer thread: execCommand checks the client's watches (block.c) and runs
 * the queued requests in order against the writer connection, reads
 * included, so reads inside a transaction see its earlier writes.
 */
#include "block.h"
#include "commands.h"
#include "config.h"
#include "multi.h"
#include "net.h"
#include <stdlib.h>
#include <string.h>

void requestFreeMulti(request *r) {
    for (int i = 0; i < r->multi_count; i++) requestFreeArgv(&r->multi[i]);
    free(r->multi);
    r->multi = NULL;
    r->multi_count = 0;
}

static void discardQueue(client *c) {
    for (int i = 0; i < c->mcount; i++) requestFreeArgv(&c->mqueue[i]);
    free(c->mqueue);
    c->mqueue = NULL;
    c->mcount = c->mcap = 0;
    c->in_multi = false;
    c->multi_dirty = false;
}

/* ---- writer-side handlers --------------------------------------------- */

/* Connection commands (CLIENT, INFO, CONFIG, ...) act on net-thread state, so
 * inside EXEC they run after the commit, on the net thread, in their place
 * in the reply. ECHO/TIME need no state and run on the writer. PING is
 * deferred too: after a queued SUBSCRIBE, a RESP2 client's PING answers
 * ["pong", msg], which only the net thread (the client's state) can tell. */
static bool deferredInExec(const command *cmd) {
    return (cmd->flags & CMD_CONN) && cmd->proc != echoCommand &&
           cmd->proc != timeCommand && cmd->proc != selectCommand;
}

typedef struct exec_parts {
    int n;
    reply *parts; /* one reply per queued command */
} exec_parts;

static void execPartsFree(exec_parts *p) {
    for (int i = 0; i < p->n; i++) replyFree(&p->parts[i]);
    free(p->parts);
    free(p);
}

static void execAssemble(request *r, exec_parts *p) {
    addReplyArrayLen(r, p->n);
    for (int i = 0; i < p->n; i++) addReplyRaw(r, p->parts[i].buf, p->parts[i].len);
    execPartsFree(p);
}

/* Pushes a queued command sent to this client itself (PUBLISH or SPUBLISH
 * to a channel it is subscribed to): Redis 7.2 sends them after the EXEC
 * reply, so the command leaves them in delivery_arg (a reply *). */
static void takeLaterPushes(request *q, reply *after) {
    reply *pushes = q->delivery_arg;
    if (!pushes) return;
    q->delivery_arg = NULL;
    replyAppend(after, pushes->buf, pushes->len);
    replyFree(pushes);
    free(pushes);
}

/* Net thread, after the commit: run the deferred connection commands and
 * the delivery hooks of queued commands (PUBLISH), each in its place. */
static void execFinish(request *r) {
    exec_parts *p = r->delivery_arg;
    r->delivery_arg = NULL;
    if (r->out->len) { /* the commit failed: its error is the reply */
        execPartsFree(p);
        return;
    }
    reply after; /* see takeLaterPushes */
    replyInit(&after);
    for (int i = 0; i < p->n; i++) {
        request *q = &r->multi[i];
        if (q->on_delivery) {
            q->client = r->client;
            q->resp = r->resp;
            q->out = &p->parts[i];
            q->on_delivery(q);
            q->on_delivery = NULL;
            takeLaterPushes(q, &after);
            continue;
        }
        if (!deferredInExec(q->cmd)) continue;
        q->client = r->client;
        q->resp = r->resp;
        q->out = &p->parts[i];
        q->now_ms = mstime();
        q->cmd->proc(q);
        takeLaterPushes(q, &after);
    }
    execAssemble(r, p);
    replyAppend(r->out, after.buf, after.len);
    replyFree(&after);
}

void execCommand(request *r) {
    if (watchDirty(r->client_id, r->now_ms)) {
        watchClear(r->client_id);
        addReplyNullArray(r);
        return;
    }
    watchClear(r->client_id);
    exec_parts *p = malloc(sizeof(*p));
    p->n = r->multi_count;
    p->parts = calloc((size_t)(p->n ? p->n : 1), sizeof(reply));
    bool deferred = false;
    int db = r->db;
    for (int i = 0; i < r->multi_count; i++) {
        request *q = &r->multi[i];
        replyInit(&p->parts[i]);
        q->db = db;
        q->resp = r->resp;
        q->st = r->st;
        q->out = &p->parts[i];
        q->now_ms = r->now_ms;
        q->client_id = r->client_id;
        q->in_multi = true;
        q->client = NULL;
        q->store_error = false;
        q->block = NULL;
        if (q->cmd->proc == selectCommand) {
            long long n;
            if (!string2ll(q->argv[1], q->argvlen[1], &n)) addReplyError(q, ERR_NOT_INT);
            else if (n < 0 || n >= configDatabases()) addReplyError(q, "ERR DB index is out of range");
            else { db = (int)n; r->new_db = db; addReplyOK(q); }
            continue;
        }
        if (deferredInExec(q->cmd)) { deferred = true; continue; }
        q->on_delivery = NULL;
        if (!writerRunInner(q)) { /* nothing of this EXEC can stand */
            execPartsFree(p);
            r->store_error = true;
            addReplyError(r, "ERR storage error inside EXEC: the transaction was not applied");
            return;
        }
        if (q->on_delivery) deferred = true;
    }
    if (!deferred) {
        execAssemble(r, p);
    } else {
        r->on_delivery = execFinish;
        r->delivery_arg = p;
    }
}

void watchCommand(request *r) {
    for (int i = 1; i < r->argc; i++) {
        keyrow row;
        long long exp = keyLookup(r, r->db, r->argv[i], r->argvlen[i], &row) ? row.expires_at : 0;
        watchAdd(r, r->db, r->argv[i], r->argvlen[i], exp);
    }
    addReplyOK(r);
}

void unwatchCommand(request *r) {
    watchClear(r->client_id);
    addReplyOK(r);
}

/* Internal: the client is gone; release what the writer holds for it. */
void forgetCommand(request *r) { blockForgetClient(r->client_id); }

/* CLIENT UNBLOCK client-id [TIMEOUT|ERROR] — on the writer, where the parked
 * requests are. */
void clientUnblockCommand(request *r) {
    long long id;
    if (!getLongLongArg(r, 2, &id, NULL)) return;
    bool with_error = false;
    if (r->argc == 4) {
        if (argIs(r, 3, "error")) with_error = true;
        else if (!argIs(r, 3, "timeout")) {
            addReplyError(r, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (r->argc > 4) {
        addReplySyntaxError(r);
        return;
    }
    addReplyLongLong(r, id > 0 && blockUnblockClient((uint64_t)id, with_error) ? 1 : 0);
}

/* ---- net-thread routing ------------------------------------------------ */

/* Commands that act on the transaction itself rather than being queued. */
static bool isTxnControl(const command *cmd) {
    return cmd->proc == execCommand || cmd->proc == multiCommand || cmd->proc == discardCommand ||
           cmd->proc == watchCommand || cmd->proc == quitCommand || cmd->proc == resetCommand;
}

/* Net thread, before dispatch. Returns MULTI_QUEUED when the request was
 * queued or refused (the reply is written), MULTI_RUN to dispatch it as
 * usual, MULTI_SUBMIT to send it to the writer now. */
int multiRoute(client *c, request *req) {
    const command *cmd = req->cmd;
    bool bad_arity = cmd && !commandArityOk(cmd, req->argc);
    if (!c->in_multi) {
        /* Redis checks arity first: EXEC x is an EXECABORT, DISCARD x and
         * UNWATCH x the usual arity error (which MULTI_RUN gives). */
        if (bad_arity && cmd->proc == execCommand) {
            addReplyError(req, "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command");
            return MULTI_DONE;
        }
        if (bad_arity) return MULTI_RUN;
        if (cmd && cmd->proc == unwatchCommand) {
            if (!c->watching) { addReplyOK(req); return MULTI_DONE; }
            c->watching = false;
            return MULTI_RUN; /* to the writer, which answers +OK */
        }
        if (cmd && cmd->proc == execCommand) { addReplyError(req, "ERR EXEC without MULTI"); return MULTI_DONE; }
        if (cmd && cmd->proc == discardCommand) { addReplyError(req, "ERR DISCARD without MULTI"); return MULTI_DONE; }
        if (cmd && cmd->proc == watchCommand) c->watching = true;
        return MULTI_RUN;
    }
    /* Inside MULTI: the checks Redis makes at queue time come first. */
    if (!cmd) { commandReplyUnknown(req); c->multi_dirty = true; return MULTI_DONE; }
    if (bad_arity && cmd->proc == execCommand) {
        discardQueue(c);
        addReplyError(req, "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command");
        if (!c->watching) return MULTI_DONE;
        c->watching = false;
        return MULTI_FORGET_WATCHES;
    }
    if (bad_arity) { addReplyArityError(req); c->multi_dirty = true; return MULTI_DONE; }
    /* Redis's no-multi commands (SYNC and PSYNC are not implemented here):
     * refused at queue time, and the refusal aborts the EXEC. */
    if (cmd->proc == saveCommand || cmd->proc == shutdownCommand) {
        addReplyError(req, "ERR Command not allowed inside a transaction");
        c->multi_dirty = true;
        return MULTI_DONE;
    }
    if (isTxnControl(cmd)) {
        if (cmd->proc == multiCommand) { addReplyError(req, "ERR MULTI calls can not be nested"); return MULTI_DONE; }
        if (cmd->proc == watchCommand) { addReplyError(req, "ERR WATCH inside MULTI is not allowed"); return MULTI_DONE; }
        if (cmd->proc == discardCommand) {
            discardQueue(c);
            if (!c->watching) { addReplyOK(req); return MULTI_DONE; }
            c->watching = false;
            return MULTI_SUBMIT; /* unwatch on the writer; it answers +OK */
        }
        if (cmd->proc == execCommand) {
            if (c->multi_dirty) {
                discardQueue(c);
                addReplyError(req, "EXECABORT Transaction discarded because of previous errors.");
                if (!c->watching) return MULTI_DONE;
                c->watching = false;
                return MULTI_FORGET_WATCHES;
            }
            req->multi = c->mqueue;
            req->multi_count = c->mcount;
            c->mqueue = NULL;
            c->mcount = c->mcap = 0;
            c->in_multi = false;
            c->watching = false;
            return MULTI_SUBMIT;
        }
        if (cmd->proc == resetCommand) discardQueue(c);
        return MULTI_RUN; /* QUIT, RESET */
    }
    if (c->mcount == c->mcap) {
        c->mcap = c->mcap ? c->mcap * 2 : 8;
        c->mqueue = realloc(c->mqueue, sizeof(request) * (size_t)c->mcap);
    }
    c->mqueue[c->mcount++] = *req;
    req->argc = 0;
    req->argv = NULL;
    req->argvlen = NULL;
    addReplyStatus(req, "QUEUED");
    return MULTI_DONE;
}

void multiCommand(request *r) {
    r->client->in_multi = true;
    r->client->multi_dirty = false;
    addReplyOK(r);
}

/* Only reached through multiRoute's checks; the real work is above. */
void discardCommand(request *r) { unwatchCommand(r); }

void multiClientGone(client *c) { discardQueue(c); }
