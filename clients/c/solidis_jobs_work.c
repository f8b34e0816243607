/*
 * solidis_jobs_work.c — `solidis-jobs work`: a worker (on the solidis_worker
 * library) that runs a shell command for every job. It owns everything about
 * supervising that child process — spawning, feeding stdin, capturing stderr,
 * escalating on signals — which is why it is apart from the request/reply
 * subcommands in solidis_jobs.c.
 *
 * `work` runs `sh -c CMD` per job with the payload on stdin and the job's id,
 * queue and attempt in SOLIDIS_JOB_ID / SOLIDIS_JOB_QUEUE / SOLIDIS_JOB_ATTEMPT.
 * Exit status 0 acknowledges the job; anything else NACKs it with the
 * command's stderr (also passed through to ours) as the job's error. The
 * command runs in its own process group: the first SIGTERM/SIGINT lets it
 * finish, the second sends it SIGTERM, the third SIGKILL.
 */
#include "solidis_jobs.h"
#include "solidis_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ERR_KEEP 4000 /* bytes of a failed command's stderr kept as the job's error */

typedef struct workCtx {
    const opts *o;
    long long ok, failed;
} workCtx;

static void stamp(char *buf, size_t cap) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ld", (long)(tv.tv_usec / 1000));
}

static void workLog(void *ud, int level, const char *msg) {
    workCtx *wc = ud;
    if (level == SW_LOG_DEBUG && !wc->o->verbose) return;
    char ts[32];
    stamp(ts, sizeof ts);
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "[%s] %s: %s\n", ts, names[level < 0 || level > 3 ? 3 : level], msg);
}

static long long nowMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* environ plus the job's three variables; strings in `store`. */
static char **jobEnv(const swJob *job, char store[3][640]) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = malloc(sizeof *env * (n + 4));
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SOLIDIS_JOB_", 12) != 0) env[k++] = environ[i];
    snprintf(store[0], sizeof store[0], "SOLIDIS_JOB_ID=%s", job->id);
    snprintf(store[1], sizeof store[1], "SOLIDIS_JOB_QUEUE=%s", job->queue);
    snprintf(store[2], sizeof store[2], "SOLIDIS_JOB_ATTEMPT=%lld", job->attempt);
    env[k++] = store[0];
    env[k++] = store[1];
    env[k++] = store[2];
    env[k] = NULL;
    return env;
}

/* Keep the last ERR_KEEP bytes of what the command wrote to stderr. */
typedef struct tail {
    char buf[2 * ERR_KEEP];
    size_t len;
    bool cut;
} tail;

static void tailAdd(tail *t, const char *p, size_t n) {
    if (n >= ERR_KEEP) {
        p += n - ERR_KEEP;
        n = ERR_KEEP;
        t->len = 0;
        t->cut = true;
    }
    if (t->len + n > sizeof t->buf) {
        size_t drop = t->len + n - ERR_KEEP;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
        t->cut = true;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static int execHandler(swWorker *w, const swJob *job, void *ud) {
    workCtx *wc = ud;
    const opts *o = wc->o;
    long long t0 = nowMs();
    char ts[32];
    stamp(ts, sizeof ts);
    if (o->verbose) printf("[%s] %s  %s  attempt %lld: started, %zu-byte payload\n", ts, job->id, job->queue,
                           job->attempt, job->payload_len);

    int in[2] = {-1, -1}, err[2] = {-1, -1};
    char errmsg[256] = "";
    pid_t pid = -1;
    char store[3][640];
    char **env = jobEnv(job, store);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    bool spawned = false;
    if (!env || pipe2(in, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        snprintf(errmsg, sizeof errmsg, "worker could not prepare the command: %s", strerror(errno));
    } else {
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        posix_spawnattr_init(&at);
        sigset_t none, defs;
        sigemptyset(&none);
        sigemptyset(&defs);
        sigaddset(&defs, SIGPIPE);
        sigaddset(&defs, SIGTERM);
        sigaddset(&defs, SIGINT);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &defs);
        posix_spawnattr_setpgroup(&at, 0); /* own group: Ctrl-C does not kill the job */
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        char *const argv[] = {"sh", "-c", (char *)o->exec, NULL};
        int e = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (e != 0) snprintf(errmsg, sizeof errmsg, "worker could not start /bin/sh: %s", strerror(e));
        else spawned = true;
    }
    free(env);
    if (in[0] >= 0) close(in[0]);
    if (err[1] >= 0) close(err[1]);

    tail t = {.len = 0, .cut = false};
    int status = 0;
    int signalled_stop = 0;
    if (spawned) {
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        size_t off = 0;
        if (job->payload_len == 0) {
            close(in[1]);
            in[1] = -1;
        }
        bool exited = false;
        long long drain_until = 0;
        while (err[0] >= 0 || !exited) {
            struct pollfd p[2];
            int np = 0;
            if (err[0] >= 0) p[np++] = (struct pollfd){err[0], POLLIN, 0};
            if (in[1] >= 0) p[np++] = (struct pollfd){in[1], POLLOUT, 0};
            int n = np ? poll(p, (nfds_t)np, 100) : (usleep(20000), 0);
            for (int i = 0; n > 0 && i < np; i++) {
                if (!p[i].revents) continue;
                if (p[i].fd == err[0]) {
                    char buf[4096];
                    ssize_t got = read(err[0], buf, sizeof buf);
                    if (got > 0) {
                        tailAdd(&t, buf, (size_t)got);
                        fwrite(buf, 1, (size_t)got, stderr); /* passed through as well */
                    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                        close(err[0]);
                        err[0] = -1;
                    }
                } else {
                    ssize_t put = write(in[1], job->payload + off, job->payload_len - off);
                    if (put > 0) off += (size_t)put;
                    if ((put < 0 && errno != EAGAIN && errno != EINTR) || off == job->payload_len) {
                        close(in[1]); /* EPIPE: the command does not read its stdin; fine */
                        in[1] = -1;
                    }
                }
            }
            if (!exited) {
                pid_t got = waitpid(pid, &status, WNOHANG);
                if (got == pid) {
                    exited = true;
                    drain_until = nowMs() + 1000;
                    /* Whatever a background grandchild still holds open is not
                     * this job's output: stop reading once the pipe is drained. */
                    if (err[0] >= 0) fcntl(err[0], F_SETFL, O_NONBLOCK);
                    if (in[1] >= 0) {
                        close(in[1]);
                        in[1] = -1;
                    }
                } else if (got < 0 && errno != EINTR) {
                    exited = true;
                    status = 0x7f00; /* treated as failure below */
                }
            } else if (err[0] >= 0 && (n == 0 || !(p[0].revents & POLLIN) || nowMs() > drain_until)) {
                close(err[0]);
                err[0] = -1;
            }
            /* Escalation: 2nd stop request terminates the command, 3rd kills it. */
            int req = swWorkerStopRequests(w);
            if (!exited && req >= 2 && req > signalled_stop) {
                kill(-pid, req == 2 ? SIGTERM : SIGKILL);
                signalled_stop = req;
            }
        }
    }
    if (in[1] >= 0) close(in[1]);
    if (err[0] >= 0) close(err[0]);

    long long ms = nowMs() - t0;
    bool ok = spawned && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!o->quiet) printf("[%s] %s  %s  attempt %lld  ", ts, job->id, job->queue, job->attempt);
    if (ok) {
        wc->ok++;
        if (!o->quiet) printf("ok (%lld ms)\n", ms);
        fflush(stdout);
        return 0;
    }
    wc->failed++;
    /* The error: the command's stderr, else how it ended. */
    while (t.len && (t.buf[t.len - 1] == '\n' || t.buf[t.len - 1] == '\r' || t.buf[t.len - 1] == ' ' ||
                     t.buf[t.len - 1] == '\t'))
        t.len--;
    char how[320];
    if (!spawned) snprintf(how, sizeof how, "%s", errmsg);
    else if (WIFEXITED(status)) snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(status),
                                           strsignal(WTERMSIG(status)));
    else snprintf(how, sizeof how, "lost track of the command");
    if (signalled_stop) strncat(how, " (worker stopping)", sizeof how - strlen(how) - 1);
    if (t.len) {
        char *text = malloc(t.len + 4);
        size_t n = 0;
        if (text) {
            if (t.cut) memcpy(text, "...", 3), n = 3;
            memcpy(text + n, t.buf, t.len);
            n += t.len;
            swJobFail(w, text, n);
            free(text);
        }
    } else {
        swJobFail(w, how, strlen(how));
    }
    if (!o->quiet) {
        printf("failed, %s (%lld ms)", how, ms);
        if (t.len) {
            const char *nl = memchr(t.buf, '\n', t.len);
            size_t first = nl ? (size_t)(nl - t.buf) : t.len;
            fputs(": ", stdout);
            printBytes(stdout, t.buf, first, 200);
        }
        fputc('\n', stdout);
    }
    fflush(stdout);
    return 1;
}

int cmdWork(const opts *o) {
    needArgs(o, 1, -1, "work QUEUE [QUEUE...] --exec CMD");
    onlyOptions(o, "work", false, false, true);
    if (!o->exec || !o->exec[0]) usageError("work needs --exec CMD%s", "");
    workCtx wc = {.o = o};
    swOptions so;
    swOptionsInit(&so);
    so.host = o->host;
    so.port = o->port;
    so.password = o->password;
    so.lease_ms = o->lease;
    so.block_ms = o->block;
    so.worker_name = o->worker;
    so.max_jobs = o->max_jobs;
    so.log = workLog;
    swWorker *w = swWorkerNew(&so, o->pos + 1, o->npos - 1, execHandler, &wc);
    if (!w) {
        fprintf(stderr, "solidis-jobs: cannot create the worker\n");
        return 1;
    }
    swWorkerHandleSignals(w);
    setvbuf(stdout, NULL, _IOLBF, 0);
    long long t0 = nowMs();
    if (!o->quiet) {
        printf("working on");
        for (int i = 1; i < o->npos; i++) printf(" %s", o->pos[i]);
        printf(" at %s:%d (lease %lld ms); SIGTERM or Ctrl-C stops after the current job\n", o->host, o->port,
               o->lease);
    }
    int rc = swWorkerRun(w);
    double secs = (nowMs() - t0) / 1000.0;
    const swStats *st = swWorkerGetStats(w);
    if (rc != 0) fprintf(stderr, "solidis-jobs: %s\n", swWorkerError(w));
    if (!o->quiet) {
        long long n = wc.ok + wc.failed;
        const char *why = rc != 0 ? "error" : swWorkerStopRequests(w) ? "signal" : "--max-jobs reached";
        printf("stopped (%s): %lld job%s in %.1f s (%.1f/s): %lld ok, %lld failed", why, n, n == 1 ? "" : "s", secs,
               secs > 0 ? n / secs : 0.0, wc.ok, wc.failed);
        if (st->lost) printf(", %lld not acknowledged (lease lost)", st->lost);
        if (st->reconnects) printf(", %lld reconnect%s", st->reconnects, st->reconnects == 1 ? "" : "s");
        printf("\n");
    }
    swWorkerFree(w);
    return rc == 0 ? 0 : 1;
}
