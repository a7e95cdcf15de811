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
 * The same goes for the update hook and run-time limits, which node-sqlite3's
 * `change` event and `configure('limit')` need: litepool_watch(),
 * litepool_changes() and litepool_limit() below, and the last inserted rowid
 * its `this.lastID` reads after an `exec` (litepool_rowid()).
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

/*
 * Rows changed while a connection is watched (litepool_watch(1)), as SQLite's
 * update hook reports them: for each row its type, schema, table and rowid,
 * each followed by a NUL byte (SQL names never hold one). Freed with the
 * connection (the destructor of litepool_changes).
 */
typedef struct {
  sqlite3 *db;
  sqlite3_str *log; /* 0 while nothing is logged */
} ChangeLog;

static void drop_log(ChangeLog *changes) {
  if (changes->log != 0) sqlite3_free(sqlite3_str_finish(changes->log));
  changes->log = 0;
}

static void free_change_log(void *data) {
  drop_log((ChangeLog *)data);
  sqlite3_free(data);
}

static void append_field(sqlite3_str *log, const char *text) {
  sqlite3_str_appendall(log, text);
  sqlite3_str_append(log, "", 1); /* the NUL that ends the field */
}

static void on_change(void *data, int type, char const *schema, char const *table, sqlite3_int64 rowid) {
  ChangeLog *changes = (ChangeLog *)data;
  if (changes->log == 0) changes->log = sqlite3_str_new(changes->db);
  append_field(changes->log, type == SQLITE_INSERT ? "insert" : type == SQLITE_DELETE ? "delete" : "update");
  append_field(changes->log, schema);
  append_field(changes->log, table);
  sqlite3_str_appendf(changes->log, "%lld", rowid);
  sqlite3_str_append(changes->log, "", 1);
}

/* litepool_watch(on): starts (1) or stops (0) logging changed rows; stopping drops what was not taken. */
static void watch_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  ChangeLog *changes = (ChangeLog *)sqlite3_user_data(context);
  int on = sqlite3_value_int(argv[0]) != 0;
  (void)argc;
  sqlite3_update_hook(changes->db, on ? on_change : 0, on ? changes : 0);
  if (!on) drop_log(changes);
  sqlite3_result_int(context, on);
}

/* litepool_changes(): the rows logged since the last call (see ChangeLog), or NULL if none; the log starts again empty. */
static void changes_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  ChangeLog *changes = (ChangeLog *)sqlite3_user_data(context);
  (void)argc;
  (void)argv;
  if (changes->log == 0) {
    sqlite3_result_null(context);
    return;
  }
  int length = sqlite3_str_length(changes->log);
  int error = sqlite3_str_errcode(changes->log);
  char *text = sqlite3_str_finish(changes->log);
  changes->log = 0;
  if (error != SQLITE_OK || text == 0) {
    sqlite3_free(text);
    sqlite3_result_error_nomem(context);
    return;
  }
  sqlite3_result_text(context, text, length, sqlite3_free);
}

/* litepool_limit(category, value): sets one of this connection's run-time limits (a negative value only reads it); returns its value before. */
static void limit_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite3_result_int(context, sqlite3_limit(sqlite3_context_db_handle(context), sqlite3_value_int(argv[0]), sqlite3_value_int(argv[1])));
}

/*
 * litepool_rowid(id): sets this connection's last inserted rowid, which an INSERT then moves (the node-sqlite3
 * drop-in runs a Database's exec script on a shared connection from the Database's own value, so what the script
 * leaves is what node-sqlite3's connection would report); returns it.
 */
static void rowid_function(sqlite3_context *context, int argc, sqlite3_value **argv) {
  sqlite3_int64 id = sqlite3_value_int64(argv[0]);
  (void)argc;
  sqlite3_set_last_insert_rowid(sqlite3_context_db_handle(context), id);
  sqlite3_result_int64(context, id);
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
  rc = sqlite3_create_function_v2(db, "litepool_dqs", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, dqs_function, 0, 0, 0);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_create_function_v2(db, "litepool_limit", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, limit_function, 0, 0, 0);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_create_function_v2(db, "litepool_rowid", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, rowid_function, 0, 0, 0);
  if (rc != SQLITE_OK) return rc;
  ChangeLog *changes = (ChangeLog *)sqlite3_malloc(sizeof(ChangeLog));
  if (changes == 0) return SQLITE_NOMEM;
  changes->db = db;
  changes->log = 0;
  /* Registered first with the destructor: if this fails, SQLite has freed the log already. */
  rc = sqlite3_create_function_v2(db, "litepool_changes", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, changes, changes_function, 0, 0, free_change_log);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function_v2(db, "litepool_watch", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, changes, watch_function, 0, 0, 0);
}
