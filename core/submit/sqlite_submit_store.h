#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/submit/submit_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace jobgw::core {

// The default SubmitStore: one SQLite file. WAL journal with synchronous=NORMAL, so a commit
// survives a crash or SIGKILL of jobgw (only a power loss may take the last commits), and
// readers never wait for the writer. The schema's version is `PRAGMA user_version`; opening runs
// the migrations from the file's version up to kSchemaVersion, each in its own transaction.
// One connection, guarded by a mutex; statements are prepared once.
class SqliteSubmitStore final : public SubmitStore {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens or creates the file at `path` and migrates it. Fails naming the path when the file
  // cannot be opened, is not a SQLite database, or has a schema newer than this jobgw knows.
  static Result<std::unique_ptr<SqliteSubmitStore>> open(const std::string& path);
  ~SqliteSubmitStore() override;
  SqliteSubmitStore(const SqliteSubmitStore&) = delete;
  SqliteSubmitStore& operator=(const SqliteSubmitStore&) = delete;

  Result<std::optional<RememberedSubmit>> lookup(const IdempotencyKey& key,
                                                 std::int64_t not_before_ms) override;
  Result<void> record_submit(const SubmitRecord& record) override;
  Result<void> forget_unfinished(const Scope& scope, std::int64_t job_instance_id) override;
  Result<std::vector<UnfinishedJob>> unfinished() override;
  Result<std::size_t> expire(std::int64_t before_ms) override;
  Result<std::uint64_t> start_run() override;

  // What the file says now; for tests and the startup log.
  Result<int> schema_version();
  Result<std::string> journal_mode();

 private:
  explicit SqliteSubmitStore(std::string path) : path_(std::move(path)) {}
  Error failure(const std::string& what) const;
  Result<void> exec(const char* sql);
  // Best effort after a failure: the error being reported matters more than this one.
  void rollback() { static_cast<void>(exec("ROLLBACK")); }
  Result<void> configure();
  Result<void> migrate();
  Result<void> prepare_statements();
  Result<int> read_user_version();
  Result<std::string> read_journal_mode();

  std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* lookup_ = nullptr;
  sqlite3_stmt* insert_key_ = nullptr;
  sqlite3_stmt* insert_job_ = nullptr;
  sqlite3_stmt* delete_job_ = nullptr;
  sqlite3_stmt* select_jobs_ = nullptr;
  sqlite3_stmt* expire_keys_ = nullptr;
  sqlite3_stmt* expire_jobs_ = nullptr;
  sqlite3_stmt* count_run_ = nullptr;
  sqlite3_stmt* read_runs_ = nullptr;
};

}  // namespace jobgw::core
