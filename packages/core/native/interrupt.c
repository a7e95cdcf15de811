/*
 * litepool_interrupt: a SQLite loadable extension that lets one thread stop a
 * statement running on another thread's connection (and sets the few
 * connection options better-sqlite3 does not expose).
 *
 * better-sqlite3 exposes neither sqlite3_interrupt() nor a progress handler
 * (its build omits progress callbacks). Every connection litepool opens loads
 * this extension: its init registers the connection in a process-wide table
 * and defines litepool_slot(), which returns the connection's token. A
 * connection on the pool's own thread loads it too and calls
 * litepool_interrupt(token), which calls sqlite3_interrupt() on the
 * registered connection; SQLite documents that call as safe from any thread.
 *
 * A spin lock guards the table: a connection unregisters (in the destructor
 * of its litepool_slot function, while sqlite3_close runs) under the lock, so
 * an interrupt never reaches a connection that has been freed. Tokens carry
 * a generation, so a token of a closed connection never interrupts the one
 * that reuses its slot. No libc: one binary serves glibc and musl.
 */
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1
#include <stdint.h> /* a compiler header: intptr_t, as wide as a pointer on every target (long is not, on Windows) */

#define SLOTS 4096 /* connections registered at once, per process */

static sqlite3 *registered[SLOTS];
static unsigned int generation[SLOTS];
static int table_lock;

static void lock(void) {
  while (__atomic_exchange_n(&table_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}

static void unlock(void) { __atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE); }

/* The slot index travels as the function's user data, offset by one so it is never NULL. */
static void unregister(void *data) {
  intptr_t index = (intptr_t)data - 1;
  lock();
  registered[index] = 0;
  unlock();
}

/* litepool_slot(): this connection's token (generation << 12 | slot). */
static void slot_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  intptr_t index = (intptr_t)sqlite3_user_data(context) - 1;
  (void)argc;
  (void)argv;
  lock();
  sqlite3_int64 token = ((sqlite3_int64)generation[index] << 12) | index;
  unlock();
  sqlite3_result_int64(context, token);
}

/* litepool_interrupt(token): 1 if that connection was open and has been interrupted, else 0. */
static void interrupt_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  sqlite3_int64 token = sqlite3_value_int64(argv[0]);
  intptr_t index = (intptr_t)(token & (SLOTS - 1));
  unsigned int wanted = (unsigned int)(token >> 12);
  int done = 0;
  (void)argc;
  lock();
  if (token >= 0 && registered[index] != 0 && generation[index] == wanted) {
    sqlite3_interrupt(registered[index]);
    done = 1;
  }
  unlock();
  sqlite3_result_int(context, done);
}

/*
 * litepool_dqs(on): allows (1) or refuses (0) double-quoted string literals on
 * this connection, in DML and DDL (sqlite3_db_config, not exposed by
 * better-sqlite3, whose build refuses them; node-sqlite3's allows them).
 * Returns 1 when both settings took.
 */
static void dqs_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(context);
  int on = sqlite3_value_int(argv[0]) != 0;
  int dml = -1, ddl = -1;
  (void)argc;
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, on, &dml);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, on, &ddl);
  sqlite3_result_int(context, dml == on && ddl == on);
}

#ifdef _WIN32
/* Built without a C runtime (-nostdlib), the DLL brings its own entry point, which has nothing to do. */
int __stdcall _DllMainCRTStartup(void *instance, unsigned long reason, void *reserved) {
  (void)instance;
  (void)reason;
  (void)reserved;
  return 1;
}

__declspec(dllexport)
#endif
int sqlite3_litepoolinterrupt_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  intptr_t index = -1;
  lock();
  for (intptr_t i = 0; i < SLOTS; i++) {
    if (registered[i] == 0) {
      registered[i] = db;
      generation[i] = (generation[i] + 1) & 0x7FFFF; /* tokens stay below 2^31 */
      if (generation[i] == 0) generation[i] = 1; /* so a token is never 0 */
      index = i;
      break;
    }
  }
  unlock();
  if (index < 0) {
    *error = sqlite3_mprintf("litepool_interrupt: more than %d connections are open in this process", SLOTS);
    return SQLITE_ERROR;
  }
  int rc = sqlite3_create_function_v2(db, "litepool_slot", 0, SQLITE_UTF8, (void *)(index + 1), slot_function, 0, 0, unregister);
  if (rc != SQLITE_OK) {
    unregister((void *)(index + 1));
    return rc;
  }
  /* sqlite3_create_function_v2 calls the destructor itself when it fails. */
  rc = sqlite3_create_function_v2(db, "litepool_interrupt", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, interrupt_function, 0, 0, 0);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function_v2(db, "litepool_dqs", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, dqs_function, 0, 0, 0);
}
