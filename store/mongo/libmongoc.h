// libmongoc, opened with dlopen the first time the MongoDB adapter is used instead of being
// linked into every program. Why: Debian builds libmongoc with automatic init, so merely
// loading it runs mongoc_init(), which maps a /dev/shm/mongoc-PID counters file. Every
// facegate command would create one, each kill -9 would leave one behind, and where /dev/shm
// is not writable each command would print "Falling back to malloc for counters". The
// counters only serve mongoc-stat; the switch that turns them off (MONGOC_DISABLE_SHM) is
// read at load time, so the library is loaded here, after setting it.
#pragma once

#include <mongoc/mongoc.h>

namespace fg::store::mongo {

// The libmongoc functions the adapter calls, each as mongoc_<name>.
#define FG_MONGOC_FUNCTIONS(X)                                                                          \
  X(bulk_operation_destroy) X(bulk_operation_execute) X(bulk_operation_replace_one_with_opts)           \
  X(client_command_simple) X(client_destroy) X(client_get_collection) X(client_new_from_uri_with_error) \
  X(client_set_appname) X(collection_create_bulk_operation_with_opts) X(collection_delete_many)         \
  X(collection_delete_one) X(collection_destroy) X(collection_find_with_opts) X(collection_replace_one) \
  X(collection_update_many) X(cursor_destroy) X(cursor_error) X(cursor_next) X(init) X(uri_destroy)     \
  X(uri_get_database) X(uri_has_option) X(uri_new_with_error) X(uri_set_option_as_int32)

struct Libmongoc {
#define FG_MONGOC_POINTER(name) decltype(&::mongoc_##name) name;
  FG_MONGOC_FUNCTIONS(FG_MONGOC_POINTER)
#undef FG_MONGOC_POINTER
};

// Loads and initialises libmongoc once; throws std::runtime_error naming the library and
// what is missing if it cannot.
const Libmongoc& libmongoc();

}  // namespace fg::store::mongo
