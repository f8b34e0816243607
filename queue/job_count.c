/*
 * job_count.c — the per-queue state counters of job_queues, for state changes.
 *
 * job_queues keeps n_ready ... n_cancelled and the totals (completed, failed,
 * retried, the per-minute completion window) so that JOB.STATS and FETCH never
 * count rows. jobInsert() counts an ADD, a trigger counts deletes, and FETCH
 * counts its own READY -> RUNNING claims, once per queue (all in job.c).
 *
 * Other state changes were counted by triggers on UPDATE OF state too. But
 * such a trigger runs its program (a frame, its WHEN) for every statement
 * that sets `state`, including each claim, even when its WHEN is false: a
 * quarter of a claim's cost, a third of an ACK's. So a statement that moves a
 * job between states writes the move as
 *
 *     SET state = job_moved(db, queue, state, <new state>)
 *
 * job_moved() returns the new state and adds the move to an in-memory tally
 * per (db, queue); SQLite evaluates it once for each row the UPDATE changes,
 * with the row's old values. jobCountsEnd() then applies each queue's tally
 * with one UPDATE of job_queues (one per JOB.ACK of many ids, not one per id).
 *
 * Invariant: a function that runs such a statement ends with jobCountsEnd()
 * before anything can read job_queues: on success the counts change in the
 * same transaction as the jobs; on failure the tally is dropped, and the
 * failed command's changes are undone with it (writer.c). jobCountsBegin()
 * drops what an earlier failure may have left, as a second line of defence.
 *
 * Writer thread only (the function is registered on the writer's connection).
 */
#include "job.h"
#include <stdlib.h>
#include <string.h>

typedef struct tally {
    int db;
    bool text; /* the queue value was TEXT, not BLOB: bind it back the same way */
    size_t len;
    char *queue;
    long long n[JOB_NSTATES]; /* change of each state's count */
    long long completed, failed, retried;
} tally;

static tally *tallies;
static int ntallies, tallies_cap;

static tally *tallyFor(int db, bool text, const void *queue, size_t len) {
    for (int i = 0; i < ntallies; i++) {
        tally *t = &tallies[i];
        if (t->db == db && t->text == text && t->len == len && (len == 0 || memcmp(t->queue, queue, len) == 0))
            return t;
    }
    if (ntallies == tallies_cap) {
        tallies_cap = tallies_cap ? tallies_cap * 2 : 8;
        tallies = realloc(tallies, sizeof(*tallies) * (size_t)tallies_cap);
    }
    tally *t = &tallies[ntallies++];
    memset(t, 0, sizeof(*t));
    t->db = db;
    t->text = text;
    t->len = len;
    t->queue = malloc(len ? len : 1);
    if (len) memcpy(t->queue, queue, len);
    return t;
}

/* SQL job_moved(db, queue, old_state, new_state) -> new_state. */
static void jobMovedFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    int from = sqlite3_value_int(argv[2]), to = sqlite3_value_int(argv[3]);
    if (from != to && from >= 0 && from < JOB_NSTATES && to >= 0 && to < JOB_NSTATES) {
        bool text = sqlite3_value_type(argv[1]) == SQLITE_TEXT;
        const void *queue = text ? (const void *)sqlite3_value_text(argv[1]) : sqlite3_value_blob(argv[1]);
        tally *t = tallyFor(sqlite3_value_int(argv[0]), text, queue, (size_t)sqlite3_value_bytes(argv[1]));
        t->n[from]--;
        t->n[to]++;
        t->completed += to == JOB_DONE;
        t->failed += to == JOB_DEAD;
        t->retried += from == JOB_RUNNING && to <= JOB_DELAYED;
    }
    sqlite3_result_int(ctx, to);
}

/* ?12 is the current minute: completions go into the window of job.c's schema. */
static const char SQL_COUNT_MOVES[] =
    "UPDATE job_queues SET n_ready=n_ready+?3, n_delayed=n_delayed+?4, n_running=n_running+?5,"
    " n_done=n_done+?6, n_dead=n_dead+?7, n_cancelled=n_cancelled+?8,"
    " completed=completed+?9, failed=failed+?10, retried=retried+?11,"
    " prev_done=CASE WHEN ?9=0 OR win=?12 THEN prev_done WHEN win=?12-1 THEN win_done ELSE 0 END,"
    " win_done=CASE WHEN ?9=0 THEN win_done WHEN win=?12 THEN win_done+?9 ELSE ?9 END,"
    " win=CASE WHEN ?9=0 THEN win ELSE ?12 END"
    " WHERE db=?1 AND queue=?2";

static void dropTallies(void) {
    for (int i = 0; i < ntallies; i++) free(tallies[i].queue);
    ntallies = 0;
}

void jobCountsBegin(void) { dropTallies(); }

bool jobCountsEnd(request *r, bool ok) {
    for (int i = 0; ok && i < ntallies; i++) {
        tally *t = &tallies[i];
        sqlite3_stmt *s = stmtGet(r->st, SQL_COUNT_MOVES);
        if (!s) {
            ok = false;
            break;
        }
        sqlite3_bind_int(s, 1, t->db);
        if (t->text) sqlite3_bind_text(s, 2, t->queue, (int)t->len, SQLITE_STATIC);
        else sqlite3_bind_blob(s, 2, t->queue, (int)t->len, SQLITE_STATIC);
        for (int k = 0; k < JOB_NSTATES; k++) sqlite3_bind_int64(s, 3 + k, t->n[k]);
        sqlite3_bind_int64(s, 9, t->completed);
        sqlite3_bind_int64(s, 10, t->failed);
        sqlite3_bind_int64(s, 11, t->retried);
        sqlite3_bind_int64(s, 12, r->now_ms / 60000);
        ok = sqlite3_step(s) == SQLITE_DONE;
        stmtDone(s);
    }
    dropTallies();
    return ok;
}

void jobCountsRegister(void) { storeRegisterFunction("job_moved", 4, jobMovedFunc); }
