/*
 * solidis_jobs.h — what the two halves of bin/solidis-jobs share:
 * solidis_jobs.c (main, argument parsing, add/stats/list/get/retry) and
 * solidis_jobs_work.c (the `work` subcommand). The parsed options, the usage
 * checks every subcommand runs, and the byte printer both use for output.
 */
#ifndef SOLIDIS_JOBS_H
#define SOLIDIS_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct opts {
    const char *host;
    int port;
    const char *password;
    /* add */
    const char *delay, *at, *priority, *retries, *backoff, *timeout, *unique, *ttl;
    /* list */
    long long count;
    /* work */
    const char *exec;
    long long lease, block, max_jobs;
    const char *worker;
    bool quiet, verbose;
    /* positional: command and its arguments */
    const char *pos[64];
    int npos;
} opts;

/* Usage mistakes: print to stderr and exit 2. */
void usageError(const char *fmt, const char *arg);
void onlyOptions(const opts *o, const char *cmd, bool add, bool list, bool work);
void needArgs(const opts *o, int min, int max, const char *synopsis);

/* Print bytes for a person: printable as is, the rest escaped; max > 0 shortens. */
void printBytes(FILE *f, const char *s, size_t len, size_t max);

/* `solidis-jobs work ...` (solidis_jobs_work.c); returns the exit status. */
int cmdWork(const opts *o);

#endif
