/*
 * t_hash.h — shared by the hash files only: t_hash.c owns the storage (see
 * its header for the `hashes` table and how expired fields are hidden) and
 * the plain hash commands; t_hash_ttl.c builds the per-field TTL commands and
 * the field-expiry sweeper on the helpers below.
 */
#ifndef SOLIDIS_T_HASH_H
#define SOLIDIS_T_HASH_H

#include "cache_internal.h"

/* A hash key as a command sees it. */
typedef struct hkey {
    int64_t id;
    long long stored;   /* rows in `hashes` (keys.value, keyrow.count) */
    long long saved;    /* the count the keys row holds: hashSave writes only a change */
    long long expired;  /* rows already past their TTL, not swept yet (not counted by hashFind) */
    int64_t next_seq;   /* writer: the seq the next new field gets */
    bool may_expire;    /* keys.enc = HASH_ENC_FIELD_TTL: a field has had a TTL */
    bool fresh;         /* created by this command, keys row not written yet */
    bool changed;       /* fields changed: touch the key when saving */
} hkey;

/* keys.enc of a hash once any of its fields was given a TTL (it is never
 * cleared). Hashes without it cannot have expired fields: no field count. */
#define HASH_ENC_FIELD_TTL 1
#define HASH_SQL_TEXT_(x) #x
#define HASH_SQL_TEXT(x) HASH_SQL_TEXT_(x)
#define HASH_ENC_FIELD_TTL_SQL HASH_SQL_TEXT(HASH_ENC_FIELD_TTL) /* "1", for SQL text */

/* SQL run by both files. The statement cache is keyed by the text's address,
 * so a statement both use is one string, defined in t_hash.c. */
extern const char SQL_HASH_FIELD_ROW[]; /* ?1 id, ?2 field -> value, expires_at */

/* Look the hash at argv[kidx] up: id and stored count (h->expired is not
 * counted). Returns 1 found, 0 missing, -1 replied (WRONGTYPE or storage
 * error). */
int hashFind(request *r, int kidx, hkey *h);
/* Writer: the same, after deleting the key's fields past their TTL, so every
 * row the command sees is live. */
int hashOpenWrite(request *r, int kidx, hkey *h);
/* Writer: persist the key row (count, touch) after the fields changed. */
bool hashSave(request *r, int kidx, hkey *h);
/* Writer: delete a field. Returns 1 deleted, 0 absent, -1 error. */
int hashFieldDelete(request *r, hkey *h, const char *f, size_t flen);


/* Registers the commands and the background task of t_hash_ttl.c; called by
 * hashRegister(). */
void hashTtlRegister(void);

#endif
