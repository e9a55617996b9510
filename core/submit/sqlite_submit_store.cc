#include "core/submit/sqlite_submit_store.h"

#include <sqlite3.h>

#include <iterator>

namespace jobgw::core {
namespace {

// Ordered: migration i (0-based) takes the schema from version i to i + 1. Never edit one that
// shipped; append a new one and raise kSchemaVersion. A migration may be several statements; the
// parentheses tell the compiler the literals are concatenated on purpose.
const char* const kMigrations[] = {
    // 1: idempotency keys and the answer JOB gave for them.
    "CREATE TABLE idempotency_keys ("
    "  caller TEXT NOT NULL, scope TEXT NOT NULL, request_id TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL, job_instance_id INTEGER NOT NULL,"
    "  step_instance_id INTEGER NOT NULL, job_instance_name TEXT NOT NULL,"
    "  submitted_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (caller, scope, request_id)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_by_time ON idempotency_keys (submitted_ms);",
    // 2: jobs submitted and not yet seen finished, watched again after a restart.
    "CREATE TABLE unfinished_jobs ("
    "  scope_type TEXT NOT NULL, scope_id TEXT NOT NULL, job_instance_id INTEGER NOT NULL,"
    "  submitted_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (scope_type, scope_id, job_instance_id)) WITHOUT ROWID;"
    "CREATE INDEX unfinished_jobs_by_time ON unfinished_jobs (submitted_ms);",
    // 3: how often jobgw started on this file; the run number bases watch sequence numbers.
    ("CREATE TABLE runs (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL);"
     "INSERT INTO runs (id, count) VALUES (1, 0);"),
};
static_assert(std::size(kMigrations) == SqliteSubmitStore::kSchemaVersion,
              "one migration per schema version");

// Resets a statement when the call using it returns, however it returns.
class Using {
 public:
  explicit Using(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Using() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Using(const Using&) = delete;
  Using& operator=(const Using&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       static_cast<std::size_t>(sqlite3_column_bytes(stmt, index)));
}

std::string scope_type(const Scope& scope) { return scope.type.empty() ? "biz" : scope.type; }

}  // namespace

Result<std::unique_ptr<SqliteSubmitStore>> SqliteSubmitStore::open(const std::string& path) {
  std::unique_ptr<SqliteSubmitStore> store(new SqliteSubmitStore(path));
  // NOMUTEX: the store's own mutex serialises every use of its one connection.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &store->db_, flags, nullptr) != SQLITE_OK) {
    Error error = store->failure("cannot open");
    return error;
  }
  if (auto configured = store->configure(); !configured) return configured.error();
  if (auto migrated = store->migrate(); !migrated) return migrated.error();
  if (auto prepared = store->prepare_statements(); !prepared) return prepared.error();
  return store;
}

SqliteSubmitStore::~SqliteSubmitStore() {
  for (sqlite3_stmt* stmt : {lookup_, insert_key_, insert_job_, delete_job_, select_jobs_,
                             expire_keys_, expire_jobs_, count_run_, read_runs_}) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db_);
}

Error SqliteSubmitStore::failure(const std::string& what) const {
  std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return Error::internal("state store " + path_ + ": " + what + ": " + detail);
}

Result<void> SqliteSubmitStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return Error::internal("state store " + path_ + ": " + text);
  }
  return {};
}

Result<void> SqliteSubmitStore::configure() {
  // Another process holding the write lock (a second jobgw on the same file, a backup) makes
  // calls wait this long instead of failing at once.
  sqlite3_busy_timeout(db_, 5000);
  auto mode = read_journal_mode();
  if (!mode) return mode.error();
  if (mode.value() != "wal") {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr) != SQLITE_OK) {
      return failure("cannot switch to WAL");
    }
    const int rc = sqlite3_step(stmt);
    std::string now = rc == SQLITE_ROW ? column_text(stmt, 0) : std::string();
    sqlite3_finalize(stmt);
    // An in-memory database answers "memory": there is no file to journal, which is fine.
    if (rc != SQLITE_ROW || (now != "wal" && now != "memory")) {
      return Error::internal("state store " + path_ + ": cannot switch to WAL (journal_mode " +
                             now + ")");
    }
  }
  return exec("PRAGMA synchronous=NORMAL");
}

Result<int> SqliteSubmitStore::read_user_version() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK) {
    return failure("cannot read the schema version");
  }
  int version = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version < 0) return failure("cannot read the schema version");
  return version;
}

Result<void> SqliteSubmitStore::migrate() {
  for (;;) {
    // IMMEDIATE takes the write lock first, so two processes opening one old file at once
    // cannot both run the same migration.
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
    auto version = read_user_version();
    if (!version) {
      rollback();
      return version.error();
    }
    const int from = version.value();
    if (from == kSchemaVersion) return exec("COMMIT");
    if (from > kSchemaVersion) {
      rollback();
      return Error::internal("state store " + path_ + ": schema version " + std::to_string(from) +
                             " is newer than this jobgw knows (" + std::to_string(kSchemaVersion) +
                             ")");
    }
    auto applied = exec(kMigrations[from]);
    if (applied) {
      const std::string bump = "PRAGMA user_version=" + std::to_string(from + 1);
      applied = exec(bump.c_str());
    }
    if (!applied) {
      rollback();
      return Error::internal(applied.error().message + " (migrating schema to version " +
                             std::to_string(from + 1) + ")");
    }
    if (auto committed = exec("COMMIT"); !committed) return committed.error();
  }
}

Result<void> SqliteSubmitStore::prepare_statements() {
  struct Statement {
    sqlite3_stmt** slot;
    const char* sql;
  };
  const Statement statements[] = {
      {&lookup_,
       "SELECT fingerprint, job_instance_id, step_instance_id, job_instance_name, submitted_ms "
       "FROM idempotency_keys WHERE caller = ?1 AND scope = ?2 AND request_id = ?3 "
       "AND submitted_ms >= ?4"},
      {&insert_key_,
       "INSERT OR REPLACE INTO idempotency_keys (caller, scope, request_id, fingerprint, "
       "job_instance_id, step_instance_id, job_instance_name, submitted_ms) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&insert_job_,
       "INSERT OR REPLACE INTO unfinished_jobs (scope_type, scope_id, job_instance_id, "
       "submitted_ms) VALUES (?1, ?2, ?3, ?4)"},
      {&delete_job_,
       "DELETE FROM unfinished_jobs WHERE scope_type = ?1 AND scope_id = ?2 "
       "AND job_instance_id = ?3"},
      {&select_jobs_,
       "SELECT scope_type, scope_id, job_instance_id, submitted_ms FROM unfinished_jobs "
       "ORDER BY submitted_ms, job_instance_id"},
      {&expire_keys_, "DELETE FROM idempotency_keys WHERE submitted_ms < ?1"},
      {&expire_jobs_, "DELETE FROM unfinished_jobs WHERE submitted_ms < ?1"},
      {&count_run_, "UPDATE runs SET count = count + 1 WHERE id = 1"},
      {&read_runs_, "SELECT count FROM runs WHERE id = 1"},
  };
  for (const Statement& s : statements) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.slot, nullptr) !=
        SQLITE_OK) {
      return failure("cannot prepare a statement");
    }
  }
  return {};
}

Result<int> SqliteSubmitStore::schema_version() {
  std::lock_guard<std::mutex> lock(mu_);
  return read_user_version();
}

Result<std::string> SqliteSubmitStore::journal_mode() {
  std::lock_guard<std::mutex> lock(mu_);
  return read_journal_mode();
}

Result<std::string> SqliteSubmitStore::read_journal_mode() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &stmt, nullptr) != SQLITE_OK) {
    return failure("not a usable database");
  }
  const int rc = sqlite3_step(stmt);
  std::string mode = rc == SQLITE_ROW ? column_text(stmt, 0) : std::string();
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return failure("not a usable database");
  return mode;
}

Result<std::optional<RememberedSubmit>> SqliteSubmitStore::lookup(const IdempotencyKey& key,
                                                                  std::int64_t not_before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Using use(lookup_);
  bind_text(lookup_, 1, key.caller);
  bind_text(lookup_, 2, key.scope);
  bind_text(lookup_, 3, key.request_id);
  sqlite3_bind_int64(lookup_, 4, not_before_ms);
  const int rc = sqlite3_step(lookup_);
  if (rc == SQLITE_DONE) return std::optional<RememberedSubmit>();
  if (rc != SQLITE_ROW) return failure("cannot read an idempotency key");
  RememberedSubmit found;
  found.fingerprint = column_text(lookup_, 0);
  found.ref.job_instance_id = sqlite3_column_int64(lookup_, 1);
  found.ref.step_instance_id = sqlite3_column_int64(lookup_, 2);
  found.ref.job_instance_name = column_text(lookup_, 3);
  found.submitted_ms = sqlite3_column_int64(lookup_, 4);
  return std::optional<RememberedSubmit>(std::move(found));
}

Result<void> SqliteSubmitStore::record_submit(const SubmitRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
  auto fail = [this](Error error) -> Result<void> {
    rollback();
    return error;
  };
  if (record.key) {
    Using use(insert_key_);
    bind_text(insert_key_, 1, record.key->caller);
    bind_text(insert_key_, 2, record.key->scope);
    bind_text(insert_key_, 3, record.key->request_id);
    bind_text(insert_key_, 4, record.fingerprint);
    sqlite3_bind_int64(insert_key_, 5, record.ref.job_instance_id);
    sqlite3_bind_int64(insert_key_, 6, record.ref.step_instance_id);
    bind_text(insert_key_, 7, record.ref.job_instance_name);
    sqlite3_bind_int64(insert_key_, 8, record.submitted_ms);
    if (sqlite3_step(insert_key_) != SQLITE_DONE) {
      return fail(failure("cannot store an idempotency key"));
    }
  }
  {
    Using use(insert_job_);
    bind_text(insert_job_, 1, scope_type(record.scope));
    bind_text(insert_job_, 2, record.scope.id);
    sqlite3_bind_int64(insert_job_, 3, record.ref.job_instance_id);
    sqlite3_bind_int64(insert_job_, 4, record.submitted_ms);
    if (sqlite3_step(insert_job_) != SQLITE_DONE) {
      return fail(failure("cannot store an unfinished job"));
    }
  }
  if (auto committed = exec("COMMIT"); !committed) return fail(committed.error());
  return {};
}

Result<void> SqliteSubmitStore::forget_unfinished(const Scope& scope,
                                                  std::int64_t job_instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Using use(delete_job_);
  bind_text(delete_job_, 1, scope_type(scope));
  bind_text(delete_job_, 2, scope.id);
  sqlite3_bind_int64(delete_job_, 3, job_instance_id);
  if (sqlite3_step(delete_job_) != SQLITE_DONE) return failure("cannot forget a finished job");
  return {};
}

Result<std::vector<UnfinishedJob>> SqliteSubmitStore::unfinished() {
  std::lock_guard<std::mutex> lock(mu_);
  Using use(select_jobs_);
  std::vector<UnfinishedJob> jobs;
  for (;;) {
    const int rc = sqlite3_step(select_jobs_);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return failure("cannot list unfinished jobs");
    UnfinishedJob job;
    job.scope.type = column_text(select_jobs_, 0);
    job.scope.id = column_text(select_jobs_, 1);
    job.job_instance_id = sqlite3_column_int64(select_jobs_, 2);
    job.submitted_ms = sqlite3_column_int64(select_jobs_, 3);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<std::size_t> SqliteSubmitStore::expire(std::int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t removed = 0;
  for (sqlite3_stmt* stmt : {expire_keys_, expire_jobs_}) {
    Using use(stmt);
    sqlite3_bind_int64(stmt, 1, before_ms);
    if (sqlite3_step(stmt) != SQLITE_DONE) return failure("cannot expire old entries");
    removed += static_cast<std::size_t>(sqlite3_changes(db_));
  }
  return removed;
}

Result<std::uint64_t> SqliteSubmitStore::start_run() {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
  std::uint64_t count = 0;
  {
    Using count_use(count_run_);
    Using read_use(read_runs_);
    if (sqlite3_step(count_run_) != SQLITE_DONE || sqlite3_step(read_runs_) != SQLITE_ROW) {
      Error error = failure("cannot count this run");
      rollback();
      return error;
    }
    count = static_cast<std::uint64_t>(sqlite3_column_int64(read_runs_, 0));
  }
  if (auto committed = exec("COMMIT"); !committed) {
    rollback();
    return committed.error();
  }
  return count;
}

}  // namespace jobgw::core
