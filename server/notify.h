/*
 * notify.h — keyspace notifications (server-internal part; the API for
 * modules, notifyKeyspaceEvent and the NOTIFY_* classes, is in server.h).
 */
#ifndef SOLIDIS_NOTIFY_H
#define SOLIDIS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

int notifyParseFlags(const char *s);              /* -1 on a bad character */
void notifyFlagsToString(int flags, char *out, size_t len);
void notifySetFlags(int flags);                   /* net thread (CONFIG SET) */
bool notifyPublish(void);                         /* writer, after a commit */
void notifyDiscardPending(void);                  /* writer, after a rollback */
size_t notifyMark(void);                          /* writer: events so far */
void notifyRewind(size_t mark);                   /* writer: drop a rolled-back command's events */
void notifyApply(void);                           /* net thread, before replies */

#endif
