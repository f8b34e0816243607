/* repl.c — placeholder. */
#include "repl_internal.h"
