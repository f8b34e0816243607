/* Pipelining check through a real C client library (hiredis).
 *
 * Usage: test-hiredis-pipeline PORT [COUNT]
 *
 * Connects to 127.0.0.1:PORT, queues COUNT (default 10000) "SET k:i v:i" with
 * redisAppendCommand before reading anything, then reads every reply and checks
 * it is the status OK; then does the same with COUNT "GET k:i" and checks each
 * value; finally one binary-safe value (NUL, CR, LF, 0xff) through %b.
 * Prints "hiredis pipeline ok" and exits 0, or prints what went wrong and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>

static void fail(redisContext *c, const char *what, int i) {
    fprintf(stderr, "hiredis pipeline FAILED: %s (index %d)", what, i);
    if (c && c->err) fprintf(stderr, ": %s", c->errstr);
    fprintf(stderr, "\n");
    exit(1);
}

static redisReply *next_reply(redisContext *c, int i) {
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL) fail(c, "redisGetReply", i);
    return (redisReply *)reply;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [COUNT]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    if (port <= 0 || n <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == NULL || c->err) fail(c, "connect", -1);
    if (redisSetTimeout(c, tv) != REDIS_OK) fail(c, "redisSetTimeout", -1);

    char want[64];

    for (int i = 0; i < n; i++)
        if (redisAppendCommand(c, "SET k:%d v:%d", i, i) != REDIS_OK) fail(c, "append SET", i);
    for (int i = 0; i < n; i++) {
        redisReply *r = next_reply(c, i);
        if (r->type != REDIS_REPLY_STATUS || r->len != 2 || memcmp(r->str, "OK", 2) != 0) {
            fprintf(stderr, "SET k:%d: type %d, reply '%s'\n", i, r->type, r->str ? r->str : "(null)");
            fail(c, "SET reply is not +OK", i);
        }
        freeReplyObject(r);
    }

    for (int i = 0; i < n; i++)
        if (redisAppendCommand(c, "GET k:%d", i) != REDIS_OK) fail(c, "append GET", i);
    for (int i = 0; i < n; i++) {
        redisReply *r = next_reply(c, i);
        int wl = snprintf(want, sizeof want, "v:%d", i);
        if (r->type != REDIS_REPLY_STRING || (int)r->len != wl || memcmp(r->str, want, wl) != 0) {
            fprintf(stderr, "GET k:%d: type %d, got '%s', want '%s'\n", i, r->type,
                    r->str ? r->str : "(null)", want);
            fail(c, "GET value mismatch", i);
        }
        freeReplyObject(r);
    }

    /* One binary-safe round trip in the same pipelined style. */
    const char bin[] = {'a', '\0', '\r', '\n', (char)0xff, 'z'};
    if (redisAppendCommand(c, "SET %b %b", "bin\0key", (size_t)7, bin, sizeof bin) != REDIS_OK)
        fail(c, "append binary SET", 0);
    if (redisAppendCommand(c, "GET %b", "bin\0key", (size_t)7) != REDIS_OK)
        fail(c, "append binary GET", 0);
    redisReply *r = next_reply(c, 0);
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) fail(c, "binary SET reply", 0);
    freeReplyObject(r);
    r = next_reply(c, 1);
    if (r->type != REDIS_REPLY_STRING || r->len != sizeof bin || memcmp(r->str, bin, sizeof bin) != 0)
        fail(c, "binary GET value mismatch", 1);
    freeReplyObject(r);

    redisFree(c);
    printf("hiredis pipeline ok\n");
    return 0;
}
