/*
 * t_list_block.c — list commands that take an element from one list and
 * give it to another, or pop from the first non-empty of several lists:
 * LMOVE RPOPLPUSH LMPOP and their blocking forms BLMOVE BRPOPLPUSH BLMPOP,
 * plus BLPOP and BRPOP. The blocking forms share their serving code with
 * the non-blocking ones (moveOne, popFirstNonEmpty) and differ only in what
 * happens when there is nothing to take, so they live together here, apart
 * from the storage and single-key commands in t_list.c (t_list.h is the
 * interface between the two).
 *
 * Blocking pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP): the handler tries to
 * serve; with nothing to pop it calls requestBlock() and replies nothing, and
 * the core re-runs the same handler when a push touches one of the keys.
 * Inside MULTI it replies the timeout reply at once. On a re-run (r->block
 * set) a key of another type is treated as empty, as Redis 7.2 does not wake
 * list waiters for it.
 */
#include "t_list.h"
#include <stdlib.h>
#include <string.h>

static bool parseWhere(request *r, int idx, int *where) {
    if (argIs(r, idx, "left")) *where = LIST_HEAD;
    else if (argIs(r, idx, "right")) *where = LIST_TAIL;
    else { addReplySyntaxError(r); return false; }
    return true;
}

/* ---- moves ------------------------------------------------------------- */

/* Move one element from src (argv[1], known to be a non-empty list) to dst
 * (argv[2]) and reply it. */
static void moveOne(request *r, listkey *src, int wherefrom, int whereto) {
    listkey dstk, *dst = &dstk;
    if (r->argvlen[1] == r->argvlen[2] && memcmp(r->argv[1], r->argv[2], r->argvlen[1]) == 0) {
        dst = src;
    } else if (listLookup(r, 2, &dstk) < 0) {
        return;
    }
    char *val = NULL;
    size_t vlen = 0;
    if (!listPop(r, src, wherefrom, 1, &val, &vlen)) return;
    bool ok = listPush(r, dst, whereto, &val, &vlen, 1);
    /* Redis's order: "new" if the destination is created (its listCommit),
     * the push on it, the pop on the source, then "del" if the source went
     * (the source's listCommit). */
    if (ok && dst != src) ok = listCommit(r, dst);
    if (ok) {
        notifyKeyspaceEvent(r, NOTIFY_LIST, whereto == LIST_HEAD ? "lpush" : "rpush", r->db, dst->key, dst->klen);
        notifyKeyspaceEvent(r, NOTIFY_LIST, wherefrom == LIST_HEAD ? "lpop" : "rpop", r->db, src->key, src->klen);
        ok = listCommit(r, src);
    }
    if (ok) addReplyBulk(r, val, vlen);
    free(val);
}

void lmoveCommand(request *r) {
    int wherefrom, whereto;
    if (!parseWhere(r, 3, &wherefrom) || !parseWhere(r, 4, &whereto)) return;
    listkey src;
    int rc = listLookup(r, 1, &src);
    if (rc == 0) addReplyNull(r);
    if (rc <= 0) return;
    moveOne(r, &src, wherefrom, whereto);
}

void rpoplpushCommand(request *r) {
    listkey src;
    int rc = listLookup(r, 1, &src);
    if (rc == 0) addReplyNull(r);
    if (rc <= 0) return;
    moveOne(r, &src, LIST_TAIL, LIST_HEAD);
}

/* ---- multi-key pops ---------------------------------------------------- */

/* Parse `numkeys key... LEFT|RIGHT [COUNT n]` starting at argv[numkeys_idx]. */
static bool parseMpop(request *r, int numkeys_idx, long long *numkeys, int *where, long long *count) {
    long long nk;
    if (!getLongLongArg(r, numkeys_idx, &nk, "ERR numkeys should be greater than 0")) return false;
    if (nk <= 0) { addReplyError(r, "ERR numkeys should be greater than 0"); return false; }
    if (nk > r->argc - numkeys_idx - 2) { addReplySyntaxError(r); return false; }
    int where_idx = numkeys_idx + (int)nk + 1;
    if (!parseWhere(r, where_idx, where)) return false;
    *count = -1;
    for (int j = where_idx + 1; j < r->argc; j++) {
        if (*count == -1 && argIs(r, j, "count") && j + 1 < r->argc) {
            j++;
            long long c;
            if (!getLongLongArg(r, j, &c, "ERR count should be greater than 0")) return false;
            if (c <= 0) { addReplyError(r, "ERR count should be greater than 0"); return false; }
            *count = c;
        } else {
            addReplySyntaxError(r);
            return false;
        }
    }
    if (*count == -1) *count = 1;
    *numkeys = nk;
    return true;
}

/* Pop up to `count` from the first non-empty list among argv[first ..
 * first+nkeys-1] and reply [key, [elements]] (or [key, element] when
 * `single`). Returns 1 served, 0 nothing to pop, -1 replied an error. */
static int popFirstNonEmpty(request *r, int first, int nkeys, int where, long long count, bool single) {
    bool rerun = r->block != NULL;
    for (int j = first; j < first + nkeys; j++) {
        listkey lk;
        int rc = listLookupKey(r, r->argv[j], r->argvlen[j], &lk, rerun);
        if (rc < 0) return -1;
        if (rc == 0) continue;
        long long n = count < lk.len ? count : lk.len;
        size_t mark = r->out->len;
        addReplyArrayLen(r, 2);
        addReplyBulk(r, lk.key, lk.klen);
        if (!single) addReplyArrayLen(r, n);
        bool ok = listPop(r, &lk, where, n, NULL, NULL);
        if (ok) {
            /* before the commit, which deletes an emptied list ("del" comes second) */
            notifyKeyspaceEvent(r, NOTIFY_LIST, where == LIST_HEAD ? "lpop" : "rpop", r->db, lk.key, lk.klen);
            ok = listCommit(r, &lk);
        }
        if (!ok) {
            discardDeferredReply(r, mark);
            return -1;
        }
        return 1;
    }
    return 0;
}

void lmpopCommand(request *r) {
    long long numkeys, count;
    int where;
    if (!parseMpop(r, 1, &numkeys, &where, &count)) return;
    if (popFirstNonEmpty(r, 2, (int)numkeys, where, count, false) == 0) addReplyNullArray(r);
}


static void bpopGeneric(request *r, int where) {
    long long deadline;
    if (!getBlockingTimeout(r, r->argc - 1, &deadline)) return;
    int nkeys = r->argc - 2;
    if (popFirstNonEmpty(r, 1, nkeys, where, 1, true) == 0) requestBlock(r, 1, nkeys, deadline, false);
}

void blpopCommand(request *r) { bpopGeneric(r, LIST_HEAD); }
void brpopCommand(request *r) { bpopGeneric(r, LIST_TAIL); }

/* BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n] */
void blmpopCommand(request *r) {
    long long numkeys, count, deadline;
    int where;
    if (!parseMpop(r, 2, &numkeys, &where, &count)) return;
    if (!getBlockingTimeout(r, 1, &deadline)) return;
    if (popFirstNonEmpty(r, 3, (int)numkeys, where, count, false) == 0) requestBlock(r, 3, (int)numkeys, deadline, false);
}

static void bmoveGeneric(request *r, int wherefrom, int whereto, int timeout_idx) {
    long long deadline;
    if (!getBlockingTimeout(r, timeout_idx, &deadline)) return;
    listkey src;
    int rc = listLookupKey(r, r->argv[1], r->argvlen[1], &src, r->block != NULL);
    if (rc < 0) return;
    if (rc == 0) {
        /* Redis: null bulk inside MULTI, but a null array on timeout. */
        if (r->in_multi) addReplyNull(r);
        else requestBlock(r, 1, 1, deadline, false);
        return;
    }
    moveOne(r, &src, wherefrom, whereto);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
void blmoveCommand(request *r) {
    int wherefrom, whereto;
    if (!parseWhere(r, 3, &wherefrom) || !parseWhere(r, 4, &whereto)) return;
    bmoveGeneric(r, wherefrom, whereto, 5);
}

void brpoplpushCommand(request *r) { bmoveGeneric(r, LIST_TAIL, LIST_HEAD, 3); }

/* ---- registration ------------------------------------------------------ */

#define W (CMD_WRITE | CMD_DENYOOM)
#define WB (CMD_WRITE | CMD_BLOCKING)
static const command list_block_commands[] = {
    {"lmove", lmoveCommand, 5, W, 1, 2, 1, "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "6.2.0", NULL},
    {"rpoplpush", rpoplpushCommand, 3, W, 1, 2, 1, "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "1.2.0", NULL},
    {"lmpop", lmpopCommand, -4, CMD_WRITE, 0, 0, 0, "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "7.0.0", NULL},
    {"blpop", blpopCommand, -3, WB, 1, -2, 1, "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0", NULL},
    {"brpop", brpopCommand, -3, WB, 1, -2, 1, "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0", NULL},
    {"blmove", blmoveCommand, 6, WB | CMD_DENYOOM, 1, 2, 1, "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "6.2.0", NULL},
    {"brpoplpush", brpoplpushCommand, 4, WB | CMD_DENYOOM, 1, 2, 1, "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "2.2.0", NULL},
    {"blmpop", blmpopCommand, -5, WB, 0, 0, 0, "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "7.0.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void listBlockRegister(void) { commandRegisterTable(list_block_commands); }
