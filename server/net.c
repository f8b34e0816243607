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
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
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
#include <unistd.h>

#define MAX_LISTENERS 16

net_stats stats;

static struct {
    struct event_base *base;
    struct evconnlistener *listeners[MAX_LISTENERS];
    int nlisteners;
    struct event *done_ev, *flush_ev, *cron_ev;
    client *clients;
    long nclients;
    uint64_t next_id;
    store *rst;                 /* read connection */
    wjob *batch_head, *batch_tail; /* jobs queued during this loop turn */
    int exit_code;
    bool shutting_down;
} net;

static void processInput(client *c);
static void clientFree(client *c);

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

static void flushReplies(client *c) {
    if (c->out.len && c->bev && !(c->flags & CLIENT_CLOSED)) {
        bufferevent_write(c->bev, c->out.buf, c->out.len);
        stats.net_output_bytes += (long long)c->out.len;
    }
    replyReset(&c->out);
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
}

/* Wake-up from the writer: deliver replies of committed jobs in order. */
static void deliverDone(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    wjob *j = writerTakeDone();
    while (j) {
        wjob *next = j->next;
        client *c = j->c;
        c->inflight--;
        if (!(c->flags & CLIENT_CLOSED)) {
            if (!j->discard_reply) replyAppend(&c->out, j->out.buf, j->out.len);
            if (c->inflight == 0) {
                flushReplies(c);
                if (c->flags & CLIENT_PAUSED) {
                    c->flags &= ~CLIENT_PAUSED;
                    processInput(c);
                }
            }
        } else if (c->inflight == 0) {
            clientFree(c);
        }
        writerJobFree(j);
        j = next;
    }
    for (client *c = net.clients; c; c = c->next)
        if (c->out.len) flushReplies(c);
}

static void writerNotify(void *arg) {
    (void)arg;
    event_active(net.done_ev, EV_READ, 0);
}

/* ---- commands ---------------------------------------------------------- */

static bool needsAuth(client *c) {
    return !c->authenticated && server_config.requirepass && server_config.requirepass[0];
}

/* Run or route one request. Returns false when the client must wait for its
 * writes first (the request is then kept as `pending`). */
static bool processCommand(client *c, request *req) {
    req->db = c->db;
    req->resp = c->resp;
    req->client = c;
    req->out = &c->out;
    req->st = net.rst;
    req->store_error = false;
    const command *cmd = commandLookup(req->argv[0], req->argvlen[0]);
    req->cmd = cmd;
    if (cmd && cmd->subcommands && req->argc >= 2) {
        const command *sub = commandLookupSub(cmd, req->argv[1], req->argvlen[1]);
        if (sub) req->cmd = cmd = sub;
    }
    if (cmd && !(cmd->flags & CMD_WRITE) && c->inflight > 0) return false;

    stats.total_commands++;
    c->last_cmd = cmd ? cmd->name : NULL;
    size_t mark = c->out.len;
    int mode = c->reply_mode;
    if (mode == REPLY_SKIP) c->reply_mode = REPLY_ON; /* this command is the skipped one */
    if (!cmd) {
        commandReplyUnknown(req);
    } else if ((cmd->arity > 0 && req->argc != cmd->arity) || req->argc < -cmd->arity) {
        addReplyArityError(req);
    } else if (needsAuth(c) && !(cmd->flags & CMD_NOAUTH)) {
        addReplyError(req, "NOAUTH Authentication required.");
    } else if (cmd->flags & CMD_WRITE) {
        req->now_ms = 0;
        submitWrite(c, req, mode == REPLY_OFF || mode == REPLY_SKIP);
        return true; /* argv now belongs to the job */
    } else {
        req->now_ms = mstime();
        cmd->proc(req);
    }
    /* CLIENT REPLY OFF|SKIP: drop what this command said. */
    if (mode == REPLY_SKIP || c->reply_mode == REPLY_OFF) c->out.len = mark;
    if (c->reply_mode == REPLY_SKIP_NEXT) c->reply_mode = REPLY_SKIP;
    requestFreeArgv(req);
    return true;
}

static void protocolError(client *c, const char *msg) {
    char buf[300];
    int n = snprintf(buf, sizeof(buf), "-ERR Protocol error: %s\r\n", msg);
    replyAppend(&c->out, buf, (size_t)n);
    serverLog(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s", msg, (unsigned long long)c->id, c->addr);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Parse and run as many requests as the query buffer holds, stopping when a
 * command must wait for this client's in-flight writes. */
static void processInput(client *c) {
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSED | CLIENT_PAUSED))) {
        if (!c->has_pending) {
            char err[160];
            memset(&c->pending, 0, sizeof(c->pending));
            int rc = protoNextRequest(c, &c->pending, err, sizeof(err));
            if (rc == 0) break;
            if (rc < 0) { protocolError(c, err); break; }
            c->has_pending = true;
        }
        if (!processCommand(c, &c->pending)) {
            c->flags |= CLIENT_PAUSED;
            bufferevent_disable(c->bev, EV_READ);
            break;
        }
        c->has_pending = false;
    }
    if (!(c->flags & CLIENT_PAUSED) && !(c->flags & CLIENT_CLOSED)) bufferevent_enable(c->bev, EV_READ);
    flushReplies(c);
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->inflight == 0 && c->bev &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        netCloseClient(c);
}

/* ---- client lifecycle -------------------------------------------------- */

static void readCb(struct bufferevent *bev, void *arg) {
    client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t total = evbuffer_get_length(in);
    struct evbuffer_iovec v[16];
    int n = evbuffer_peek(in, -1, NULL, v, 16);
    for (int i = 0; i < n && i < 16; i++) redisReaderFeed(c->reader, v[i].iov_base, v[i].iov_len);
    evbuffer_drain(in, total);
    stats.net_input_bytes += (long long)total;
    c->last_ms = mstime();
    if ((long long)protoQueryBufLen(c) > server_config.client_query_buffer_limit) {
        serverLog(LL_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s",
                  (unsigned long long)c->id, c->addr);
        netCloseClient(c);
        return;
    }
    processInput(c);
}

static void writeCb(struct bufferevent *bev, void *arg) {
    (void)bev;
    client *c = arg;
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->inflight == 0) netCloseClient(c);
}

static void eventCb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) netCloseClient(arg);
}

static void clientFree(client *c) {
    if (c->prev) c->prev->next = c->next;
    else net.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    net.nclients--;
    if (c->has_pending) requestFreeArgv(&c->pending);
    if (c->reader) redisReaderFree(c->reader);
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
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
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
    c->bev = bufferevent_socket_new(net.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev || !c->reader) {
        if (c->bev) bufferevent_free(c->bev);
        else close(fd);
        if (c->reader) redisReaderFree(c->reader);
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, readCb, writeCb, eventCb, c);
    bufferevent_set_max_single_read(c->bev, 64 * 1024);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = net.clients;
    if (net.clients) net.clients->prev = c;
    net.clients = c;
    net.nclients++;
}

/* ---- periodic ---------------------------------------------------------- */

static void cron(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
    if (server_config.timeout > 0) {
        long long now = mstime();
        client *next;
        for (client *c = net.clients; c; c = next) {
            next = c->next;
            if (!(c->flags & CLIENT_CLOSED) && c->inflight == 0 && now - c->last_ms > server_config.timeout * 1000)
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
    writerStop();
    deliverDone(-1, 0, NULL);
    /* Push remaining replies out; a blocking best-effort flush per client. */
    for (client *c = net.clients; c; c = c->next) {
        if (c->bev) {
            struct evbuffer *o = bufferevent_get_output(c->bev);
            evutil_socket_t fd = bufferevent_getfd(c->bev);
            while (evbuffer_get_length(o) && evbuffer_write(o, fd) > 0) {}
        }
    }
    while (net.clients) {
        client *c = net.clients;
        c->inflight = 0;
        netCloseClient(c);
    }
    event_free(net.done_ev);
    event_free(net.flush_ev);
    event_free(net.cron_ev);
    storeClose(net.rst);
}

void clientInfoString(client *c, char *buf, size_t len) {
    long long now = mstime();
    snprintf(buf, len,
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 ssub=0 "
             "multi=-1 qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 omem=0 tot-mem=%zu "
             "events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s",
             (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
             (now - c->ctime_ms) / 1000, (now - c->last_ms) / 1000,
             (c->flags & CLIENT_NO_EVICT) ? "e" : "N", c->db, protoQueryBufLen(c), c->out.cap,
             sizeof(*c) + c->out.cap, c->last_cmd ? c->last_cmd : "NULL", c->resp,
             c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}

int netExitCode(void) { return net.exit_code; }

void serverNoteExpired(long long n) { __atomic_add_fetch(&stats.expired_keys, n, __ATOMIC_RELAXED); }

void serverNoteKeyspace(bool hit) {
    if (hit) stats.keyspace_hits++;
    else stats.keyspace_misses++;
}
