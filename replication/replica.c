/* replica.c — placeholder. */
#include "repl_internal.h"
