/*
 * commands.h — the command table (server-internal).
 */
#ifndef SOLIDIS_COMMANDS_H
#define SOLIDIS_COMMANDS_H

#include "server.h"

void commandTableInit(void);
const command *commandLookupSub(const command *parent, const char *name, size_t len);
void commandReplyUnknown(request *r);
void commandCommand(request *r);

/* Connection and server commands (conn.c, info.c). */
void pingCommand(request *r);
void echoCommand(request *r);
void helloCommand(request *r);
void authCommand(request *r);
void selectCommand(request *r);
void quitCommand(request *r);
void resetCommand(request *r);
void clientCommand(request *r);
void infoCommand(request *r);
void timeCommand(request *r);
void shutdownCommand(request *r);
void lastsaveCommand(request *r);
void saveCommand(request *r);
void bgsaveCommand(request *r);
void debugCommand(request *r);
void dbsizeCommand(request *r);
void flushdbCommand(request *r);
void flushallCommand(request *r);
void configCommand(request *r);
void serverCommandsInit(void);
void serverNoteSave(void);

#endif
