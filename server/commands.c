/*
 * commands.c — the command registry and the COMMAND command.
 *
 * Every module describes its commands as data (name, handler, arity, flags,
 * key positions, docs) and registers the table at start-up. Dispatch, arity
 * errors, COMMAND INFO/DOCS/LIST/COUNT/GETKEYS all read the same rows, so no
 * command needs its own `if` anywhere else. Registration happens before the
 * event loop starts; afterwards the registry is read-only (net thread).
 */
#include "commands.h"
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SLOTS 1024

static const command *slots[SLOTS];
static int ncommands;

static unsigned hashName(const char *s, size_t len) {
    unsigned h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned)tolower((unsigned char)s[i]);
    return h;
}

void commandRegisterTable(const command *cmds) {
    for (const command *c = cmds; c->name; c++) {
        size_t len = strlen(c->name);
        unsigned h = hashName(c->name, len) % SLOTS;
        while (slots[h]) h = (h + 1) % SLOTS;
        slots[h] = c;
        ncommands++;
    }
}

bool commandArityOk(const command *c, int argc) { return c->arity > 0 ? argc == c->arity : argc >= -c->arity; }

const command *commandLookup(const char *name, size_t len) {
    unsigned h = hashName(name, len) % SLOTS;
    while (slots[h]) {
        if (strlen(slots[h]->name) == len && strncasecmp(slots[h]->name, name, len) == 0) return slots[h];
        h = (h + 1) % SLOTS;
    }
    return NULL;
}

/* Subcommand rows are named "parent|sub", as Redis's errors spell them. */
const command *commandLookupSub(const command *parent, const char *name, size_t len) {
    for (const command *c = parent->subcommands; c && c->name; c++) {
        const char *sub = strchr(c->name, '|');
        sub = sub ? sub + 1 : c->name;
        if (strlen(sub) == len && strncasecmp(sub, name, len) == 0) return c;
    }
    return NULL;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' " */
void commandReplyUnknown(request *r) {
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "ERR unknown command '%.128s', with args beginning with: ", r->argv[0]);
    int args = 0; /* Redis stops once the quoted args reach 128 bytes */
    for (int i = 1; i < r->argc && args < 128; i++) {
        int m = snprintf(buf + n, sizeof(buf) - (size_t)n, "'%.*s' ", 128 - args, r->argv[i]);
        n += m;
        args += m;
    }
    addReplyError(r, buf);
}

static const struct { int flag; const char *name; } flag_names[] = {
    {CMD_WRITE, "write"}, {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"}, {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"}, {CMD_NOSCRIPT, "noscript"}, {CMD_BLOCKING, "blocking"}, {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"}, {CMD_NOAUTH, "no_auth"}, {CMD_FAST, "fast"}, {CMD_MAYREPLICATE, "may_replicate"},
};

static void lowerName(const char *in, char *out, size_t len) {
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++) out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void replyCommandInfo(request *r, const command *c) {
    char name[64];
    lowerName(c->name, name, sizeof(name));
    addReplyArrayLen(r, 10);
    addReplyBulkCString(r, name);
    addReplyLongLong(r, c->arity);
    int nf = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (c->flags & flag_names[i].flag) nf++;
    addReplySetLen(r, nf);
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (c->flags & flag_names[i].flag) addReplyStatus(r, flag_names[i].name);
    addReplyLongLong(r, c->first_key);
    addReplyLongLong(r, c->last_key);
    addReplyLongLong(r, c->key_step);
    addReplySetLen(r, 0);   /* ACL categories */
    addReplySetLen(r, 0);   /* tips */
    addReplyArrayLen(r, 0); /* key specs */
    addReplyArrayLen(r, 0); /* subcommands */
}

static void replyCommandDocs(request *r, const command *c) {
    char name[64];
    lowerName(c->name, name, sizeof(name));
    addReplyBulkCString(r, name);
    addReplyMapLen(r, 3);
    addReplyBulkCString(r, "summary");
    addReplyBulkCString(r, c->summary ? c->summary : "");
    addReplyBulkCString(r, "since");
    addReplyBulkCString(r, c->since ? c->since : "1.0.0");
    addReplyBulkCString(r, "group");
    addReplyBulkCString(r, c->group ? c->group : "generic");
}

/* COMMAND [COUNT | INFO name... | DOCS name... | LIST [FILTERBY ...] | GETKEYS ...] */
void commandCommand(request *r) {
    if (r->argc == 1) {
        addReplyArrayLen(r, ncommands);
        for (int i = 0; i < SLOTS; i++)
            if (slots[i]) replyCommandInfo(r, slots[i]);
    } else if (argIs(r, 1, "count") && r->argc == 2) {
        addReplyLongLong(r, ncommands);
    } else if (argIs(r, 1, "info")) {
        if (r->argc == 2) {
            addReplyArrayLen(r, ncommands);
            for (int i = 0; i < SLOTS; i++)
                if (slots[i]) replyCommandInfo(r, slots[i]);
            return;
        }
        addReplyArrayLen(r, r->argc - 2);
        for (int i = 2; i < r->argc; i++) {
            const command *c = commandLookup(r->argv[i], r->argvlen[i]);
            if (c) replyCommandInfo(r, c);
            else addReplyNullArray(r);
        }
    } else if (argIs(r, 1, "docs")) {
        int n = 0;
        if (r->argc == 2) {
            addReplyMapLen(r, ncommands);
            for (int i = 0; i < SLOTS; i++)
                if (slots[i]) replyCommandDocs(r, slots[i]);
            return;
        }
        for (int i = 2; i < r->argc; i++)
            if (commandLookup(r->argv[i], r->argvlen[i])) n++;
        addReplyMapLen(r, n);
        for (int i = 2; i < r->argc; i++) {
            const command *c = commandLookup(r->argv[i], r->argvlen[i]);
            if (c) replyCommandDocs(r, c);
        }
    } else if (argIs(r, 1, "list")) {
        /* FILTERBY PATTERN p | ACLCAT c | MODULE m */
        const char *pat = NULL;
        size_t patlen = 0;
        if (r->argc == 5 && argIs(r, 2, "filterby") && argIs(r, 3, "pattern")) {
            pat = r->argv[4];
            patlen = r->argvlen[4];
        } else if (r->argc != 2) {
            addReplySyntaxError(r);
            return;
        }
        int n = 0;
        char name[64];
        for (int i = 0; i < SLOTS; i++)
            if (slots[i]) {
                lowerName(slots[i]->name, name, sizeof(name));
                if (!pat || stringmatchlen(pat, patlen, name, strlen(name), true)) n++;
            }
        addReplyArrayLen(r, n);
        for (int i = 0; i < SLOTS; i++)
            if (slots[i]) {
                lowerName(slots[i]->name, name, sizeof(name));
                if (!pat || stringmatchlen(pat, patlen, name, strlen(name), true)) addReplyBulkCString(r, name);
            }
    } else if (argIs(r, 1, "getkeys") && r->argc >= 3) {
        const command *c = commandLookup(r->argv[2], r->argvlen[2]);
        if (!c) { addReplyError(r, "ERR Invalid command specified"); return; }
        int argc = r->argc - 2;
        if (!commandArityOk(c, argc)) {
            addReplyError(r, "ERR Invalid number of arguments specified for command");
            return;
        }
        if (c->first_key == 0) { addReplyError(r, "ERR The command has no key arguments"); return; }
        int last = c->last_key < 0 ? argc + c->last_key : c->last_key;
        int n = 0;
        for (int i = c->first_key; i <= last && i < argc; i += c->key_step) n++;
        addReplyArrayLen(r, n);
        for (int i = c->first_key; i <= last && i < argc; i += c->key_step)
            addReplyBulk(r, r->argv[i + 2], r->argvlen[i + 2]);
    } else if (argIs(r, 1, "help")) {
        addReplyArrayLen(r, 1);
        addReplyStatus(r, "COMMAND [COUNT | INFO name... | DOCS name... | LIST [FILTERBY PATTERN p] | GETKEYS cmd args...]");
    } else {
        addReplyErrorFormat(r, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try COMMAND HELP.", r->argv[1]);
    }
}
