/*
 * queue_internal.h — shared between the queue module's files only.
 */
#ifndef SOLIDIS_QUEUE_INTERNAL_H
#define SOLIDIS_QUEUE_INTERNAL_H

#include "../server/server.h"

void listRegister(void);
void setRegister(void);
void zsetRegister(void);
void streamRegister(void);
void jobRegister(void);

#endif
