#include "core/submit/sqlite_submit_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobgw::core {
namespace {

IdempotencyKey key(const std::string& request_id, const std::string& scope = "biz:1") {
  return IdempotencyKey{"anonymous", scope, request_id};
}

SubmitRecord record(std::int64_t job, std::int64_t at_ms, std::optional<IdempotencyKey> k = {},
                    const std::string& fingerprint = "fp") {
  SubmitRecord r;
  r.scope = Scope{"biz", "1"};
  r.ref.job_instance_id = job;
  r.ref.step_instance_id = job * 10;
  r.ref.job_instance_name = "job " + std::to_string(job);
  r.submitted_ms = at_ms;
  r.key = std::move(k);
  r.fingerprint = fingerprint;
  return r;
}

std::unique_ptr<SqliteSubmitStore> open_or_die(const std::string& path) {
  auto opened = SqliteSubmitStore::open(path);
  if (!opened) ADD_FAILURE() << opened.error().message;
  return opened ? std::move(opened.value()) : nullptr;
}

// Runs SQL on the file directly, as an older jobgw (or a corrupting hand) would have.
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

TEST(SqliteSubmitStore, NewFileIsInWalModeAtTheCurrentSchemaVersion) {
  testing::TempDir dir("store");
  auto store = open_or_die(dir.file("state.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->journal_mode().value(), "wal");
  EXPECT_EQ(store->schema_version().value(), SqliteSubmitStore::kSchemaVersion);
}

TEST(SqliteSubmitStore, RemembersKeysAndUnfinishedJobsAcrossReopen) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store->record_submit(record(7, 1000, key("a"), "fp-a")));
    ASSERT_TRUE(store->record_submit(record(8, 2000)));
  }
  auto store = open_or_die(path);
  auto found = store->lookup(key("a"), 0);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found.value().has_value());
  EXPECT_EQ(found.value()->fingerprint, "fp-a");
  EXPECT_EQ(found.value()->ref.job_instance_id, 7);
  EXPECT_EQ(found.value()->ref.step_instance_id, 70);
  EXPECT_EQ(found.value()->ref.job_instance_name, "job 7");
  EXPECT_EQ(found.value()->submitted_ms, 1000);
  EXPECT_FALSE(store->lookup(key("b"), 0).value().has_value());
  // Another caller or scope is another key.
  EXPECT_FALSE(store->lookup(key("a", "biz:2"), 0).value().has_value());
  EXPECT_FALSE(store->lookup(IdempotencyKey{"someone", "biz:1", "a"}, 0).value().has_value());

  auto jobs = store->unfinished().value();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job_instance_id, 7);
  EXPECT_EQ(jobs[0].scope.type, "biz");
  EXPECT_EQ(jobs[0].scope.id, "1");
  EXPECT_EQ(jobs[1].job_instance_id, 8);
  ASSERT_TRUE(store->forget_unfinished(Scope{"biz", "1"}, 7));
  jobs = store->unfinished().value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_instance_id, 8);
}

TEST(SqliteSubmitStore, LookupIgnoresKeysOlderThanTheWindowAndExpireDropsThem) {
  testing::TempDir dir("store");
  auto store = open_or_die(dir.file("state.db"));
  ASSERT_TRUE(store->record_submit(record(1, 1000, key("old"))));
  ASSERT_TRUE(store->record_submit(record(2, 5000, key("new"))));
  EXPECT_FALSE(store->lookup(key("old"), 1001).value().has_value());
  EXPECT_TRUE(store->lookup(key("old"), 1000).value().has_value());

  auto removed = store->expire(3000);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed.value(), 2u);  // the old key and its unfinished job
  EXPECT_FALSE(store->lookup(key("old"), 0).value().has_value());
  EXPECT_TRUE(store->lookup(key("new"), 0).value().has_value());
  auto jobs = store->unfinished().value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_instance_id, 2);
}

TEST(SqliteSubmitStore, AKeyOutsideTheWindowIsReplacedByTheNextSubmit) {
  testing::TempDir dir("store");
  auto store = open_or_die(dir.file("state.db"));
  ASSERT_TRUE(store->record_submit(record(1, 1000, key("k"), "first")));
  ASSERT_TRUE(store->record_submit(record(2, 9000, key("k"), "second")));
  auto found = store->lookup(key("k"), 0).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ref.job_instance_id, 2);
  EXPECT_EQ(found->fingerprint, "second");
}

TEST(SqliteSubmitStore, MigratesAFileFromSchemaVersionOne) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  // Version 1 as the first migration left it, with one key in it.
  raw_exec(path,
           "CREATE TABLE idempotency_keys ("
           "  caller TEXT NOT NULL, scope TEXT NOT NULL, request_id TEXT NOT NULL,"
           "  fingerprint TEXT NOT NULL, job_instance_id INTEGER NOT NULL,"
           "  step_instance_id INTEGER NOT NULL, job_instance_name TEXT NOT NULL,"
           "  submitted_ms INTEGER NOT NULL,"
           "  PRIMARY KEY (caller, scope, request_id)) WITHOUT ROWID;"
           "CREATE INDEX idempotency_keys_by_time ON idempotency_keys (submitted_ms);"
           "INSERT INTO idempotency_keys VALUES "
           "  ('anonymous', 'biz:1', 'kept', 'fp', 42, 420, 'old job', 1000);"
           "PRAGMA user_version=1;");
  auto store = open_or_die(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version().value(), SqliteSubmitStore::kSchemaVersion);
  EXPECT_EQ(store->journal_mode().value(), "wal");
  auto found = store->lookup(key("kept"), 0).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ref.job_instance_id, 42);
  EXPECT_EQ(found->ref.job_instance_name, "old job");
  // The later versions' tables exist and work.
  ASSERT_TRUE(store->record_submit(record(43, 2000)));
  EXPECT_EQ(store->unfinished().value().size(), 1u);
  EXPECT_EQ(store->start_run().value(), 1u);
}

TEST(SqliteSubmitStore, CountsRunsAcrossReopen) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  {
    auto store = open_or_die(path);
    EXPECT_EQ(store->start_run().value(), 1u);
  }
  auto store = open_or_die(path);
  EXPECT_EQ(store->start_run().value(), 2u);
  EXPECT_EQ(store->start_run().value(), 3u);
}

TEST(SqliteSubmitStore, RefusesASchemaNewerThanItKnows) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  raw_exec(path, "PRAGMA user_version=99;");
  auto opened = SqliteSubmitStore::open(path);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("schema version 99 is newer"), std::string::npos)
      << opened.error().message;
}

TEST(SqliteSubmitStore, RefusesAFileThatIsNotADatabaseNamingIt) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  {
    std::ofstream out(path);
    out << "this is not a SQLite database, it is a text file long enough to have a header\n";
  }
  auto opened = SqliteSubmitStore::open(path);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
}

TEST(SqliteSubmitStore, RefusesADirectoryThatDoesNotExist) {
  testing::TempDir dir("store");
  const std::string path = dir.file("missing/state.db");
  auto opened = SqliteSubmitStore::open(path);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
}

TEST(SqliteSubmitStore, ThreadsAndASecondConnectionShareTheFile) {
  testing::TempDir dir("store");
  const std::string path = dir.file("state.db");
  auto first = open_or_die(path);
  auto second = open_or_die(path);  // as a second process would
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SqliteSubmitStore& store = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t job = t * 1000 + i;
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store.record_submit(record(job, 1000 + i, key(id)))) failures++;
        auto found = store.lookup(key(id), 0);
        if (!found || !found.value() || found.value()->ref.job_instance_id != job) failures++;
        if (i % 2 == 0 && !store.forget_unfinished(Scope{"biz", "1"}, job)) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(first->unfinished().value().size(),
            static_cast<std::size_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(second->unfinished().value().size(),
            static_cast<std::size_t>(kThreads * kPerThread / 2));
}

}  // namespace
}  // namespace jobgw::core
