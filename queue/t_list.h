/*
 * t_list.h — shared by the list files only: t_list.c owns the storage (see
 * its header for the list_items table and the invariants) and the
 * single-key commands; t_list_block.c builds LMOVE, LMPOP and the blocking
 * pops on the helpers below.
 */
#ifndef SOLIDIS_T_LIST_H
#define SOLIDIS_T_LIST_H

#include "queue_internal.h"

enum { LIST_HEAD = 0, LIST_TAIL = 1 };

/* A list key as the command sees it. `len` is kept in memory while the
 * command works and written back once by listCommit(). */
typedef struct listkey {
    const char *key;
    size_t klen;
    bool exists;  /* a keys row exists */
    int64_t id;   /* 0 until the key exists or a push assigns one */
    long long len;
} listkey;

/* Find the list at key. Returns 1 found, 0 missing (lk describes an empty
 * list), -1 when a reply was already given (WRONGTYPE or a storage error).
 * With skip_wrongtype a key of another type counts as missing. */
int listLookupKey(request *r, const char *key, size_t klen, listkey *lk, bool skip_wrongtype);
/* The same for the key at argv[idx], replying WRONGTYPE for another type. */
int listLookup(request *r, int idx, listkey *lk);
/* Write the in-memory length back: create, update or delete the key row,
 * and announce the change. */
bool listCommit(request *r, listkey *lk);
/* Push n values at one end (LIST_HEAD or LIST_TAIL). */
bool listPush(request *r, listkey *lk, int where, char **vals, size_t *lens, int n);
/* Pop n (<= len) elements from one end. Each is replied as a bulk, or, when
 * `copy` is given (n == 1), copied into a malloc'd buffer. */
bool listPop(request *r, listkey *lk, int where, long long n, char **copy, size_t *copylen);

/* Registers the commands of t_list_block.c; called by listRegister(). */
void listBlockRegister(void);

#endif
