/*
 * multi.h — transactions and writer-side client bookkeeping (server-internal).
 */
#ifndef SOLIDIS_MULTI_H
#define SOLIDIS_MULTI_H

#include "server.h"

struct client;

enum { MULTI_RUN = 0, MULTI_DONE, MULTI_SUBMIT, MULTI_FORGET_WATCHES };

int multiRoute(struct client *c, request *req);  /* net thread */
void multiClientGone(struct client *c);          /* net thread */
void requestFreeMulti(request *r);

void multiCommand(request *r);
void execCommand(request *r);
void discardCommand(request *r);
void watchCommand(request *r);
void unwatchCommand(request *r);
void forgetCommand(request *r);
void clientUnblockCommand(request *r);

#endif
