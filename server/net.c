/*
 * net.c — the network loop: listeners, clients, and the life of a command on
 * the net thread.
 *
 * Thread ownership: the net thread owns every client, the libevent base, the
 * read store and the local batch of outgoing write jobs. The writer thread
 * reaches the net thread only through writer.c's done queue and the
 * `done_ev` wake-up it activates.
 *
 * Ordering: a client's commands run in order. A write goes to the writer and
 * raises the client's `inflight`; following writes in the same pipeline are
 * queued behind it (and usually join the same batch). Any other command waits
 * (`pending`, reads paused) until inflight drops to 0, so a client always
 * sees its own writes and replies leave in request order.
 */
#include "net.h"
#include "config.h"
#include "store.h"
#include "writer.h"
#include "commands.h"
#include "multi.h"
#include "readcache.h"
#include "notify.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#define MAX_LISTENERS 16

net_stats stats;

static struct {
    struct event_base *base;
    struct evconnlistener *listeners[MAX_LISTENERS];
    int nlisteners;
    struct event *done_ev, *flush_ev, *cron_ev, *endread_ev, *writes_ev;
    client *pending_writes;     /* clients with pushed output to write this turn */
    bool read_txn;              /* a read transaction is open on rst */
    client *clients;
    long nclients;
    uint64_t next_id;
    store *rst;                 /* read connection */
    wjob *batch_head, *batch_tail; /* jobs queued during this loop turn */
    long writing_clients;       /* clients with non-blocking writes the writer has not answered yet */
    int exit_code;
    bool shutting_down;
} net;

static void processInput(client *c);
static void clientFree(client *c);
static void dropPendingWrite(client *c);
static void writePending(evutil_socket_t fd, short what, void *arg);
static bool writePendingFor(long long budget_us);

store *netReadStore(void) { return net.rst; }
long netClientCount(void) { return net.nclients; }
client *netClientList(void) { return net.clients; }

client *netClientById(uint64_t id) {
    for (client *c = net.clients; c; c = c->next)
        if (c->id == id && !(c->flags & CLIENT_CLOSED)) return c;
    return NULL;
}

void netResetStats(void) {
    long long start = stats.start_ms;
    memset(&stats, 0, sizeof(stats));
    stats.start_ms = start;
}

void netConfigChanged(const char *name) {
    if (!strcmp(name, "appendfsync")) writerSetFsync(server_config.appendfsync);
}

/* ---- output ------------------------------------------------------------ */

bool clientNeedsAuth(const client *c) { return !c->authenticated && configPasswordSet(); }

/* client-output-buffer-limit, with Redis's defaults: none for normal
 * clients, `pubsub 32mb 8mb 60` for subscribers (for all their output, not
 * only the messages). And as Redis 7.2.8 (CVE-2025-21605), a client that is
 * not authenticated may have only 1 KB of replies waiting beyond its 16 KB
 * reply buffer: without it, a client that pipelines commands and never reads
 * makes the server keep every NOAUTH error it is sent. */
#define UNAUTH_OUTPUT_LIMIT (16 * 1024 + 1024)
#define PUBSUB_HARD_LIMIT (32LL * 1024 * 1024)
#define PUBSUB_SOFT_LIMIT (8LL * 1024 * 1024)
#define PUBSUB_SOFT_SECONDS 60

/* Close the client when its unsent output is over its limits; returns
 * whether it was closed. */
static bool closeOnOutputLimits(client *c) {
    long long pending = (long long)(c->out.len - c->out_sent);
    bool over = clientNeedsAuth(c) && pending > UNAUTH_OUTPUT_LIMIT;
    if (c->subscriptions > 0 && pending > PUBSUB_SOFT_LIMIT) {
        long long now = mstime();
        if (!c->obuf_soft_since) c->obuf_soft_since = now;
        over = over || pending > PUBSUB_HARD_LIMIT || now - c->obuf_soft_since > PUBSUB_SOFT_SECONDS * 1000;
    } else {
        c->obuf_soft_since = 0;
    }
    if (!over) return false;
    serverLog(LL_WARNING, "Client id=%llu addr=%s closed for overcoming of output buffer limits.",
              (unsigned long long)c->id, c->addr);
    netCloseClient(c);
    return true;
}

/* Write pending replies straight to the socket. Only when the kernel will
 * not take everything does the client arm a write event; in the common case
 * a reply costs one write() and no epoll_ctl. */
static void flushReplies(client *c) {
    if (c->flags & CLIENT_CLOSED) { replyReset(&c->out); c->out_sent = 0; return; }
    while (c->out_sent < c->out.len) {
        ssize_t n = write(c->fd, c->out.buf + c->out_sent, c->out.len - c->out_sent);
        if (n > 0) {
            c->out_sent += (size_t)n;
            stats.net_output_bytes += n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (closeOnOutputLimits(c)) return;
            if (!(c->flags & CLIENT_WANT_WRITE)) {
                c->flags |= CLIENT_WANT_WRITE;
                event_add(c->wev, NULL);
            }
            return;
        }
        netCloseClient(c);
        return;
    }
    replyReset(&c->out);
    c->out_sent = 0;
    if (c->flags & CLIENT_WANT_WRITE) {
        c->flags &= ~CLIENT_WANT_WRITE;
        event_del(c->wev);
    }
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->inflight == 0) netCloseClient(c);
}

static void setReading(client *c, bool on) {
    if (on == !(c->flags & CLIENT_READ_OFF)) return;
    if (on) { c->flags &= ~CLIENT_READ_OFF; event_add(c->rev, NULL); }
    else { c->flags |= CLIENT_READ_OFF; event_del(c->rev); }
}

/* ---- read snapshots ----------------------------------------------------- */

/* Read commands handled in one loop turn share one SQLite read transaction:
 * starting a snapshot costs file-lock syscalls, and a turn may serve dozens
 * of clients. The snapshot ends when the turn's callbacks are done (endread_ev
 * runs after the callbacks already active) and before any write reply is
 * released, so a read that follows a reply always sees that write. */
static const char SQL_READ_BEGIN[] = "BEGIN";
static const char SQL_READ_END[] = "COMMIT";

static void endRead(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    if (!net.read_txn) return;
    storeExec(net.rst, SQL_READ_END);
    net.read_txn = false;
}

static void beginRead(void) {
    if (net.read_txn) return;
    if (storeExec(net.rst, SQL_READ_BEGIN) != 0) return;
    net.read_txn = true;
    event_active(net.endread_ev, EV_READ, 0);
}

/* ---- writer hand-off --------------------------------------------------- */

static void flushBatch(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    if (!net.batch_head) return;
    writerSubmit(net.batch_head, net.batch_tail);
    net.batch_head = net.batch_tail = NULL;
}

/* Queue a write for the writer. Jobs collect during one loop turn and are
 * handed over together by flush_ev, which libevent runs after the read
 * callbacks already active in this turn. */
static void submitWrite(client *c, request *req, bool discard_reply) {
    wjob *j = malloc(sizeof(*j));
    if (!j) abort();
    j->next = NULL;
    j->req = *req;
    j->c = c;
    j->discard_reply = discard_reply;
    replyInit(&j->out);
    if (net.batch_tail) net.batch_tail->next = j;
    else {
        net.batch_head = j;
        event_active(net.flush_ev, EV_WRITE, 0);
    }
    net.batch_tail = j;
    c->inflight++;
    if (req->cmd && (req->cmd->flags & CMD_BLOCKING)) {
        c->blocking++;
    } else if (c->inflight - c->blocking == 1) {
        net.writing_clients++;
    }
}

/* Wake-ups from the writer (and the replica threads) to the net thread.
 * `wake_pending` says the done queue or a publish of the read cache or of
 * keyspace events waits for deliverDone(); `polling` says the net thread is
 * in netRun()'s polling loop, which looks at wake_pending itself, so the
 * writer then skips event_active() and its eventfd write and epoll wake-up.
 * Both are sequentially consistent: the writer stores wake_pending, then
 * loads polling; the net thread stores polling = 0, then loads
 * wake_pending. So either the writer sees that the loop ended and wakes the
 * base, or the loop's end sees the wake-up. Any thread. */
static int wake_pending, polling;

/* Wake-up from the writer: deliver replies of committed jobs in order. */
static void deliverDone(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    __atomic_store_n(&wake_pending, 0, __ATOMIC_SEQ_CST); /* before taking: later work wakes again */
    endRead(-1, 0, NULL);
    wjob *j = writerTakeDone();
    readCacheApply(); /* after taking the jobs: covers every change they saw */
    notifyApply();    /* keyspace events before the replies of the same commits */
    while (j) {
        wjob *next = j->next;
        client *c = j->c;
        c->inflight--;
        if (j->req.cmd && (j->req.cmd->flags & CMD_BLOCKING)) {
            c->blocking--;
        } else if (c->inflight - c->blocking == 0) {
            net.writing_clients--;
        }
        if (j->req.on_delivery) {
            /* The command finishes its reply here, after the commit (also
             * for a client that has gone: PUBLISH still fans out). */
            request *r = &j->req;
            r->client = c;
            r->out = &j->out;
            r->on_delivery(r);
            r->on_delivery = NULL;
        }
        if (c->flags & CLIENT_CLOSED) {
            if (c->inflight == 0) clientFree(c);
        } else {
            if (!j->discard_reply) replyAppend(&c->out, j->out.buf, j->out.len);
            if (j->req.new_db >= 0) c->db = j->req.new_db; /* SELECT inside EXEC */
            if (c->inflight == 0 && (c->flags & CLIENT_PAUSED)) {
                c->flags &= ~CLIENT_PAUSED;
                processInput(c); /* runs what waited, then flushes */
            } else if (!next || next->c != c) {
                flushReplies(c);
            }
        }
        writerJobFree(j);
        j = next;
    }
}

static void writerNotify(void *arg) {
    (void)arg;
    __atomic_store_n(&wake_pending, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&polling, __ATOMIC_SEQ_CST)) return;
    event_active(net.done_ev, EV_READ, 0);
}

/* ---- commands ---------------------------------------------------------- */

static const command forget_cmd = {"forget", forgetCommand, 1, CMD_WRITE, 0, 0, 0, NULL, NULL, NULL, NULL};
static const command unwatch_quiet_cmd = {"unwatch", unwatchCommand, 1, CMD_WRITE, 0, 0, 0, NULL, NULL, NULL, NULL};

/* Queue writer-side bookkeeping for this client (no reply is sent). */
static void submitInternal(client *c, const command *cmd) {
    request req;
    memset(&req, 0, sizeof(req));
    req.cmd = cmd;
    req.db = c->db;
    req.resp = c->resp;
    req.client_id = c->id;
    req.new_db = -1;
    submitWrite(c, &req, true);
}

/* Net thread: RESET's share of the transaction state. Watched keys are
 * forgotten on the writer (quietly: RESET has its own reply). */
void netForgetWatches(client *c) {
    if (!c->watching) return;
    c->watching = false;
    submitInternal(c, &unwatch_quiet_cmd);
}

/* A command refused before it runs (not authenticated, or not allowed in
 * RESP2 subscribed mode). As in Redis it marks an open transaction as
 * failed, and EXEC's refusal is worded as the transaction's abort. */
static void refuseCommand(client *c, request *req, const char *err) {
    if (c->in_multi) c->multi_dirty = true;
    if (req->cmd->proc != execCommand) { addReplyError(req, err); return; }
    if (!strncmp(err, "ERR ", 4)) err += 4;
    addReplyErrorFormat(req, "EXECABORT Transaction discarded because of: %s", err);
}

static bool isTxnCommand(const command *cmd) {
    return cmd->proc == execCommand || cmd->proc == discardCommand || cmd->proc == watchCommand ||
           cmd->proc == unwatchCommand;
}

/* Run or route one request. Returns false when the client must wait for its
 * writes first (the request is then kept as `pending`). */
static bool processCommand(client *c, request *req) {
    req->db = c->db;
    req->resp = c->resp;
    req->client = c;
    req->client_id = c->id;
    req->out = &c->out;
    req->st = net.rst;
    req->store_error = false;
    req->new_db = -1;
    const command *cmd = commandLookup(req->argv[0], req->argvlen[0]);
    if (cmd && cmd->subcommands && req->argc >= 2) {
        const command *sub = commandLookupSub(cmd, req->argv[1], req->argvlen[1]);
        if (sub) cmd = sub;
    }
    req->cmd = cmd;
    bool to_writer = cmd && (cmd->flags & CMD_WRITE) && !c->in_multi && !(c->subscriptions && c->resp == 2);
    if (c->inflight > 0 && !to_writer) return false;

    stats.total_commands++;
    if (cmd && (cmd->flags & CMD_CONTAINER) && req->argc >= 2)
        snprintf(c->last_cmd, sizeof(c->last_cmd), "%s|%.30s", cmd->name, req->argv[1]);
    else
        snprintf(c->last_cmd, sizeof(c->last_cmd), "%s", cmd ? cmd->name : "NULL");
    for (char *p = c->last_cmd; *p; p++) *p = (char)tolower((unsigned char)*p);
    size_t mark = c->out.len;
    int mode = c->reply_mode;
    if (mode == REPLY_SKIP) c->reply_mode = REPLY_ON; /* this command is the skipped one */
    bool discard = mode == REPLY_OFF || mode == REPLY_SKIP;
    int route = MULTI_RUN;
    bool pushed = false; /* a (P|S)(UN)SUBSCRIBE ran: its replies are pushes */
    /* Redis's order: an unknown command or a wrong argument count is
     * answered as such (below, or by multiRoute) before authentication and
     * the subscribed-context rule are looked at. */
    bool bad_arity = cmd && !commandArityOk(cmd, req->argc);
    if (cmd && !bad_arity && c->subscriptions > 0 && c->resp == 2 && !(cmd->flags & CMD_PUBSUB) &&
        cmd->proc != pingCommand && cmd->proc != quitCommand && cmd->proc != resetCommand) {
        char why[256];
        snprintf(why, sizeof(why), "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", c->last_cmd);
        refuseCommand(c, req, why);
        route = MULTI_DONE;
    } else if (cmd && !bad_arity && clientNeedsAuth(c) && !(cmd->flags & CMD_NOAUTH)) {
        refuseCommand(c, req, "NOAUTH Authentication required.");
        route = MULTI_DONE;
    } else if (c->in_multi || (cmd && isTxnCommand(cmd))) {
        int queued = c->mcount;
        route = multiRoute(c, req);
        /* The queue counts toward the query buffer limit (readCb). */
        if (c->mcount > queued)
            c->multi_bytes = (queued ? c->multi_bytes : 0) + requestArgvBytes(&c->mqueue[c->mcount - 1]);
    }
    if (route == MULTI_SUBMIT) {
        submitWrite(c, req, discard);
        return true; /* argv now belongs to the job */
    }
    if (route == MULTI_FORGET_WATCHES) submitInternal(c, &unwatch_quiet_cmd);
    if (route == MULTI_RUN) {
        if (!cmd) {
            commandReplyUnknown(req);
        } else if (bad_arity) {
            addReplyArityError(req);
        } else if (cmd->flags & CMD_WRITE) {
            submitWrite(c, req, discard);
            return true;
        } else {
            req->now_ms = mstime();
            if (!(cmd->flags & CMD_CONN)) beginRead();
            cmd->proc(req);
            pushed = (cmd->flags & CMD_PUBSUB) != 0;
        }
    }
    /* CLIENT REPLY OFF|SKIP: drop what this command said — but not the
     * (un)subscribe confirmations, which Redis sends as pushes regardless. */
    if ((mode == REPLY_SKIP || c->reply_mode == REPLY_OFF) && !pushed) c->out.len = mark;
    if (c->reply_mode == REPLY_SKIP_NEXT) c->reply_mode = REPLY_SKIP;
    requestFreeArgv(req);
    return true;
}

/* Redis answers a protocol error after the replies of the commands before
 * it, then closes. With writes in flight the error waits its turn. */
static void protocolError(client *c) {
    char buf[300];
    int n = snprintf(buf, sizeof(buf), "-ERR Protocol error: %s\r\n", c->proto_err);
    replyAppend(&c->out, buf, (size_t)n);
    serverLog(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s", c->proto_err,
              (unsigned long long)c->id, c->addr);
    free(c->proto_err);
    c->proto_err = NULL;
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Parse and run as many requests as the query buffer holds, stopping when a
 * command must wait for this client's in-flight writes. */
static void processInput(client *c) {
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSED | CLIENT_PAUSED))) {
        if (c->proto_err) {
            if (c->inflight > 0) { c->flags |= CLIENT_PAUSED; break; }
            protocolError(c);
            break;
        }
        if (!c->has_pending) {
            char err[160];
            memset(&c->pending, 0, sizeof(c->pending));
            int rc = protoNextRequest(c, &c->pending, err, sizeof(err));
            if (rc == 0) break;
            if (rc < 0) { c->proto_err = strdup(err); continue; }
            c->has_pending = true;
        }
        if (!processCommand(c, &c->pending)) {
            c->flags |= CLIENT_PAUSED;
            break;
        }
        c->has_pending = false;
        /* As Redis, which checks at each reply: a subscriber pipelining
         * commands must not pile up more than its limit first. */
        if (c->subscriptions > 0 && closeOnOutputLimits(c)) return;
    }
    if (c->flags & CLIENT_CLOSED) return;
    /* Stop reading while paused, or while a big output backlog waits. */
    /* A paused (or blocked) client is still read, so that a disconnect is
     * seen at once; its input just waits in the query buffer. */
    setReading(c, !(c->flags & CLIENT_CLOSE_AFTER_REPLY));
    flushReplies(c);
}

/* ---- client lifecycle -------------------------------------------------- */

/* What the client's input not yet run holds, for client-query-buffer-limit:
 * the query buffer, as in Redis, and also what has left it without running
 * (an incomplete multibulk's arguments, a MULTI queue; Redis 7.4 counts the
 * latter), so that no client holds more than the limit that way. */
static long long clientInputBytes(client *c) {
    return (long long)(protoQueryBufLen(c) + protoPartialArgvBytes(c) + (c->mcount ? c->multi_bytes : 0));
}

static void readCb(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    client *c = arg;
    char buf[64 * 1024];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        netCloseClient(c);
        return;
    }
    if (n < 0) return;
    protoFeed(c, buf, (size_t)n);
    stats.net_input_bytes += n;
    c->last_ms = mstime();
    if (clientInputBytes(c) > server_config.client_query_buffer_limit) {
        serverLog(LL_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s",
                  (unsigned long long)c->id, c->addr);
        netCloseClient(c);
        return;
    }
    processInput(c);
}

static void writeCb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    flushReplies(arg);
}

#define MAX_GONE_HOOKS 4
static void (*gone_hooks[MAX_GONE_HOOKS])(client *c);
static int ngone_hooks;

void serverOnClientGone(void (*fn)(client *c)) {
    if (ngone_hooks < MAX_GONE_HOOKS) gone_hooks[ngone_hooks++] = fn;
}

static void runGoneHooks(client *c) {
    for (int i = 0; i < ngone_hooks; i++) gone_hooks[i](c);
}

static void clientFree(client *c) {
    /* Again: a closed client's jobs still finish, and what they do on the
     * net thread after the commit (the connection commands queued in its
     * EXEC: SUBSCRIBE, CLIENT PUBSUB-IDS) may give modules new state for it,
     * which must not outlive it. */
    runGoneHooks(c);
    if (c->prev) c->prev->next = c->next;
    else net.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    net.nclients--;
    if (c->has_pending) requestFreeArgv(&c->pending);
    dropPendingWrite(c);
    free(c->proto_err);
    protoFree(c);
    replyFree(&c->out);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c);
}

/* Close the socket now; free the client once the writer has no job of it. */
void netCloseClient(client *c) {
    if (c->flags & CLIENT_CLOSED) return;
    c->flags |= CLIENT_CLOSED;
    multiClientGone(c);
    runGoneHooks(c);
    /* The writer may hold a parked request or watches of this client. */
    if ((c->watching || c->inflight > 0) && !net.shutting_down) submitInternal(c, &forget_cmd);
    event_free(c->rev);
    event_free(c->wev);
    c->rev = c->wev = NULL;
    close(c->fd);
    c->fd = -1;
    if (c->inflight == 0) clientFree(c);
}

static void formatAddr(struct sockaddr *sa, char *buf, size_t len) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%d", ip, ntohs(s->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%d", ip, ntohs(s->sin6_port));
    } else {
        snprintf(buf, len, "%s:0", server_config.unixsocket);
    }
}

static void acceptCb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
    (void)l; (void)salen;
    bool is_unix = arg != NULL;
    stats.total_connections++;
    if (net.nclients >= server_config.maxclients || net.shutting_down) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        if (write(fd, msg, sizeof(msg) - 1) < 0) { /* closing anyway */ }
        close(fd);
        stats.rejected_connections++;
        return;
    }
    client *c = calloc(1, sizeof(*c));
    if (!c) { close(fd); return; }
    c->id = ++net.next_id;
    /* As in Redis, a connection made while no password is set stays
     * authenticated when CONFIG SET requirepass adds one later. */
    c->authenticated = !configPasswordSet();
    c->fd = fd;
    c->resp = 2;
    c->ctime_ms = c->last_ms = mstime();
    replyInit(&c->out);
    c->reader = protoReaderCreate();
    if (is_unix) c->flags |= CLIENT_UNIX;
    else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (server_config.tcp_keepalive > 0) {
            int idle = (int)server_config.tcp_keepalive;
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        }
    }
    formatAddr(sa, c->addr, sizeof(c->addr));
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) formatAddr((struct sockaddr *)&local, c->laddr, sizeof(c->laddr));
    evutil_make_socket_nonblocking(fd);
    c->rev = event_new(net.base, fd, EV_READ | EV_PERSIST, readCb, c);
    c->wev = event_new(net.base, fd, EV_WRITE | EV_PERSIST, writeCb, c);
    if (!c->rev || !c->wev || !c->reader) {
        if (c->rev) event_free(c->rev);
        if (c->wev) event_free(c->wev);
        if (c->reader) redisReaderFree(c->reader);
        close(fd);
        free(c);
        return;
    }
    event_add(c->rev, NULL);
    c->next = net.clients;
    if (net.clients) net.clients->prev = c;
    net.clients = c;
    net.nclients++;
}

/* accept() failed (EMFILE, ENFILE…): pause accepting for a moment rather
 * than spin on a listener that stays readable. The cron re-enables it. */
static bool listeners_paused;

static void acceptErrorCb(struct evconnlistener *l, void *arg) {
    (void)l; (void)arg;
    serverLog(LL_WARNING, "Accepting client connection: %s", strerror(errno));
    for (int i = 0; i < net.nlisteners; i++) evconnlistener_disable(net.listeners[i]);
    listeners_paused = true;
}

/* ---- periodic ---------------------------------------------------------- */

static void cron(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    if (listeners_paused && !net.shutting_down) {
        listeners_paused = false;
        for (int i = 0; i < net.nlisteners; i++) evconnlistener_enable(net.listeners[i]);
    }
    if (server_config.timeout > 0) {
        long long now = mstime();
        client *next;
        for (client *c = net.clients; c; c = next) {
            next = c->next;
            /* As in Redis, a subscriber is never idle: it waits for messages. */
            if (!(c->flags & CLIENT_CLOSED) && c->inflight == 0 && c->subscriptions == 0 &&
                now - c->last_ms > server_config.timeout * 1000)
                netCloseClient(c);
        }
    }
}

/* ---- setup and shutdown ----------------------------------------------- */

static bool listenTcp(const char *addr, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char spec[128];
    if (strchr(addr, ':')) snprintf(spec, sizeof(spec), "[%s]:%d", addr, server_config.port);
    else snprintf(spec, sizeof(spec), "%s:%d", addr, server_config.port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(err, errlen, "invalid bind address '%s'", addr);
        return false;
    }
    struct evconnlistener *l = evconnlistener_new_bind(net.base, acceptCb, NULL,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511, (struct sockaddr *)&ss, len);
    if (!l) {
        snprintf(err, errlen, "Could not create server TCP listening socket %s: %s", spec, strerror(errno));
        return false;
    }
    evconnlistener_set_error_cb(l, acceptErrorCb);
    net.listeners[net.nlisteners++] = l;
    return true;
}

static bool listenUnix(const char *path, char *err, size_t errlen) {
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    unlink(path);
    struct evconnlistener *l = evconnlistener_new_bind(net.base, acceptCb, (void *)1,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 511, (struct sockaddr *)&sun, sizeof(sun));
    if (!l) {
        snprintf(err, errlen, "Could not create unix socket %s: %s", path, strerror(errno));
        return false;
    }
    if (server_config.unixsocketperm) chmod(path, (mode_t)server_config.unixsocketperm);
    evconnlistener_set_error_cb(l, acceptErrorCb);
    net.listeners[net.nlisteners++] = l;
    return true;
}

bool netInit(struct event_base *base, char *err, size_t errlen) {
    net.base = base;
    stats.start_ms = mstime();
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", server_config.dir, server_config.dbfilename);
    net.rst = storeOpen(path, false, 0, err, errlen);
    if (!net.rst) return false;
    net.done_ev = event_new(base, -1, 0, deliverDone, NULL);
    net.flush_ev = event_new(base, -1, 0, flushBatch, NULL);
    net.cron_ev = event_new(base, -1, EV_PERSIST, cron, NULL);
    net.endread_ev = event_new(base, -1, 0, endRead, NULL);
    net.writes_ev = event_new(base, -1, 0, writePending, NULL);
    struct timeval tv = {0, 100000};
    event_add(net.cron_ev, &tv);
    writerSetNotify(writerNotify, NULL);

    char *binds = strdup(server_config.bind);
    for (char *save = NULL, *a = strtok_r(binds, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        if (net.nlisteners >= MAX_LISTENERS - 1) break;
        const char *addr = a[0] == '-' ? a + 1 : a; /* "-::1": optional address */
        if (!listenTcp(addr, err, errlen) && a[0] != '-') { free(binds); return false; }
    }
    free(binds);
    if (server_config.unixsocket && server_config.unixsocket[0] && !listenUnix(server_config.unixsocket, err, errlen))
        return false;
    return true;
}

/* Net thread: the event loop, until shutdown. A client that sends one write
 * (or one pipeline) at a time — redis-cli, a publisher, a request handler
 * doing its writes in turn — gets its reply a few tens of microseconds after
 * the submit; sleeping in epoll_wait and being woken by the writer costs
 * about as much again. So while such a client's write is in flight and it is
 * the only client waiting for one (with several, the writer's batches fill
 * up by themselves and polling would only take CPU from those clients), the
 * loop polls without blocking for up to NET_SPIN_US, yielding the CPU
 * between polls, before it sleeps as usual. The writer does the same on its side
 * (writer.c, awaitWorkBriefly). */
#define NET_SPIN_US 100

void netRun(void) {
    while (!event_base_got_break(net.base) && !event_base_got_exit(net.base)) {
        if (net.writing_clients == 1) {
            long long until = ustime() + NET_SPIN_US;
            __atomic_store_n(&polling, 1, __ATOMIC_SEQ_CST);
            while (net.writing_clients == 1 && !__atomic_load_n(&wake_pending, __ATOMIC_SEQ_CST) &&
                   ustime() < until) {
                if (event_base_loop(net.base, EVLOOP_NONBLOCK) != 0 || event_base_got_break(net.base)) {
                    __atomic_store_n(&polling, 0, __ATOMIC_SEQ_CST);
                    return;
                }
                sched_yield();
            }
            __atomic_store_n(&polling, 0, __ATOMIC_SEQ_CST);
            /* Outside the loop: activating from this thread writes no eventfd. */
            if (__atomic_load_n(&wake_pending, __ATOMIC_SEQ_CST)) event_active(net.done_ev, EV_READ, 0);
        }
        if (event_base_loop(net.base, EVLOOP_ONCE) != 0) break;
    }
}

void netRequestShutdown(int exit_code) {
    net.exit_code = exit_code;
    net.shutting_down = true;
    event_base_loopbreak(net.base);
}

/* Stop accepting, let the writer drain, deliver its last replies, close. */
void netShutdown(void) {
    for (int i = 0; i < net.nlisteners; i++) evconnlistener_free(net.listeners[i]);
    net.nlisteners = 0;
    if (server_config.unixsocket && server_config.unixsocket[0]) unlink(server_config.unixsocket);
    flushBatch(-1, 0, NULL);
    writePendingFor(0);
    writerStop();
    deliverDone(-1, 0, NULL);
    /* Push remaining replies out: a short blocking best-effort flush. */
    client *next;
    for (client *c = net.clients; c; c = next) {
        next = c->next;
        if (c->flags & CLIENT_CLOSED) continue;
        int fl = fcntl(c->fd, F_GETFL);
        fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
        struct timeval tv = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        flushReplies(c);
    }
    while (net.clients) {
        client *c = net.clients;
        c->inflight = 0;
        netCloseClient(c);
    }
    event_free(net.done_ev);
    event_free(net.flush_ev);
    event_free(net.cron_ev);
    endRead(-1, 0, NULL);
    event_free(net.endread_ev);
    event_free(net.writes_ev);
    storeClose(net.rst);
}

int netExitCode(void) { return net.exit_code; }

void serverNoteExpired(long long n) { __atomic_add_fetch(&stats.expired_keys, n, __ATOMIC_RELAXED); }

void serverNoteKeyspace(bool hit) {
    if (hit) stats.keyspace_hits++;
    else stats.keyspace_misses++;
}

/* ---- the client API for modules (server.h) ------------------------------ */

uint64_t clientId(client *c) { return c->id; }
int clientResp(client *c) { return c->resp; }
void **clientPubsubSlot(client *c) { return &c->pubsub; }
void clientSetSubscriptions(client *c, long channels, long patterns, long shard) {
    c->sub_channels = channels;
    c->sub_patterns = patterns;
    c->sub_shard = shard;
    c->subscriptions = channels + patterns + shard;
}

static void (*reset_hooks[MAX_GONE_HOOKS])(client *c);
static int nreset_hooks;

void serverOnClientReset(void (*fn)(client *c)) {
    if (nreset_hooks < MAX_GONE_HOOKS) reset_hooks[nreset_hooks++] = fn;
}

void netClientReset(client *c) {
    for (int i = 0; i < nreset_hooks; i++) reset_hooks[i](c);
}

static void (*pubsub_counter)(long *channels, long *patterns);

void serverSetPubsubCounter(void (*fn)(long *channels, long *patterns)) { pubsub_counter = fn; }

void netPubsubCounts(long *channels, long *patterns) {
    *channels = *patterns = 0;
    if (pubsub_counter) pubsub_counter(channels, patterns);
}
long clientSubscriptions(client *c) { return c->subscriptions; }


/* Write what pushes queued, one write() per client no matter how many
 * messages a fan-out gave it, for up to `budget_us` (0 = all). Returns
 * whether clients are left. */
static bool writePendingFor(long long budget_us) {
    long long until = budget_us ? ustime() + budget_us : 0;
    while (net.pending_writes) {
        client *c = net.pending_writes;
        net.pending_writes = c->pw_next;
        c->pending_write = false;
        c->pw_next = NULL;
        flushReplies(c); /* may close and free c: it is off the list already */
        if (until && net.pending_writes && ustime() >= until) return true;
    }
    return false;
}

/* A fan-out's writes go out in slices of PUSH_SLICE_US. Between slices the
 * loop polls the sockets once (a zero timeout), so that the commands a
 * publisher sends as soon as it has its replies (which went out before the
 * fan-out) reach the writer while the fan-out is still being written: the
 * writer's next batch then runs alongside these writes instead of after them.
 * Every turn writes a slice, so pushes are never starved by reads. */
#define PUSH_SLICE_US 25

static void writePending(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    flushBatch(-1, 0, NULL); /* commands read this turn go to the writer first */
    if (writePendingFor(PUSH_SLICE_US)) {
        static const struct timeval now = {0, 0};
        event_add(net.writes_ev, &now);
    }
}

static void dropPendingWrite(client *c) {
    if (!c->pending_write) return;
    for (client **p = &net.pending_writes; *p; p = &(*p)->pw_next)
        if (*p == c) { *p = c->pw_next; break; }
    c->pending_write = false;
}

void clientPush(client *c, const void *buf, size_t len) {
    if (c->flags & CLIENT_CLOSED) return;
    replyAppend(&c->out, buf, len);
    if (closeOnOutputLimits(c)) return;
    if (!(c->flags & CLIENT_WANT_WRITE) && !c->pending_write) {
        c->pending_write = true;
        c->pw_next = net.pending_writes;
        if (!net.pending_writes) event_active(net.writes_ev, EV_WRITE, 0);
        net.pending_writes = c;
    }
}
