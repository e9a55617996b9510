#include "server/job_listing.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace jobgw::server {
namespace {

CatalogEntry entry(const std::string& scope_id, std::int64_t job, std::int64_t created,
                   const std::string& name, int status, bool finished) {
  CatalogEntry e;
  e.scope.type = "biz";
  e.scope.id = scope_id;
  e.job_instance_id = job;
  auto s = std::make_shared<core::JobSnapshot>();
  s->job_instance_id = job;
  s->name = name;
  s->status = status;
  s->finished = finished;
  s->create_time_ms = created;
  core::StepSnapshot step;
  step.step_instance_id = job + 10000;
  for (int host_status : {5, 7, 9, 104}) {
    core::HostResult h;
    h.status = host_status;
    step.hosts.push_back(h);
  }
  s->steps.push_back(step);
  e.snapshot = std::move(s);
  return e;
}

std::vector<CatalogEntry> catalog() {
  return {entry("1", 11, 1000, "deploy-a", 2, false), entry("2", 12, 2000, "deploy-b", 3, true),
          entry("1", 13, 3000, "backup", 4, true), entry("1", 14, 4000, "deploy-c", 3, true),
          entry("3", 15, 4000, "deploy-d", 2, false)};
}

auto everything = [](const core::Scope&) { return true; };

std::vector<std::int64_t> ids(const v1::ListJobsResponse& r) {
  std::vector<std::int64_t> out;
  for (const auto& j : r.jobs()) out.push_back(j.job_instance_id());
  return out;
}

TEST(JobListing, NewestFirstThenHigherJobId) {
  ListJobsQuery q;
  auto page = list_page(catalog(), q, everything);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(page.value()), (std::vector<std::int64_t>{15, 14, 13, 12, 11}));
  EXPECT_TRUE(page.value().next_page_token().empty());
}

TEST(JobListing, FiltersByScopeStatePrefixAndReadableScopes) {
  ListJobsQuery q;
  q.state = v1::JOB_STATE_FILTER_RUNNING;
  EXPECT_EQ(ids(list_page(catalog(), q, everything).value()), (std::vector<std::int64_t>{15, 11}));
  q.state = v1::JOB_STATE_FILTER_FAILED;
  EXPECT_EQ(ids(list_page(catalog(), q, everything).value()), (std::vector<std::int64_t>{13}));
  q.state = v1::JOB_STATE_FILTER_FINISHED;
  q.name_prefix = "deploy-";
  EXPECT_EQ(ids(list_page(catalog(), q, everything).value()), (std::vector<std::int64_t>{14, 12}));
  ListJobsQuery scoped;
  scoped.scope.id = "1";
  EXPECT_EQ(ids(list_page(catalog(), scoped, everything).value()),
            (std::vector<std::int64_t>{14, 13, 11}));
  // Only scopes the caller may read, and a page still fills from the rest.
  ListJobsQuery any;
  any.page_size = 2;
  auto only_biz1 = [](const core::Scope& s) { return s.id == "1"; };
  auto page = list_page(catalog(), any, only_biz1).value();
  EXPECT_EQ(ids(page), (std::vector<std::int64_t>{14, 13}));
  any.page_token = page.next_page_token();
  EXPECT_EQ(ids(list_page(catalog(), any, only_biz1).value()), (std::vector<std::int64_t>{11}));
}

TEST(JobListing, PagesCoverEveryJobOnceEvenWhenJobsArrive) {
  ListJobsQuery q;
  q.page_size = 2;
  auto entries = catalog();
  std::vector<std::int64_t> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = list_page(entries, q, everything).value();
    for (auto id : ids(page)) seen.push_back(id);
    if (page.next_page_token().empty()) break;
    q.page_token = page.next_page_token();
    // A newer job arriving between pages does not shift the later pages.
    entries.push_back(entry("1", 100 + i, 9000 + i, "new", 2, false));
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{15, 14, 13, 12, 11}));
}

TEST(JobListing, TokensOnlyContinueTheirOwnListing) {
  ListJobsQuery q;
  q.page_size = 1;
  auto first = list_page(catalog(), q, everything).value();
  ListJobsQuery other = q;
  other.name_prefix = "x";
  other.page_token = first.next_page_token();
  auto refused = list_page(catalog(), other, everything);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, core::ErrorKind::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("page_token"), std::string::npos);
  for (const std::string& bad :
       std::vector<std::string>{"zz", "abc", "00", std::string(4000, 'a')}) {
    ListJobsQuery garbage;
    garbage.page_token = bad;
    auto r = list_page(catalog(), garbage, everything);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("page_token"), std::string::npos);
  }
}

TEST(JobListing, SummaryCountsHostsByOutcome) {
  v1::JobSummary s;
  CatalogEntry e = entry("1", 11, 1000, "deploy-a", 2, false);
  e.caller = "ci";
  e.job_operator = "svc";
  e.subscribers = 3;
  to_summary(e, &s);
  EXPECT_EQ(s.hosts().total(), 4);
  EXPECT_EQ(s.hosts().waiting(), 1);
  EXPECT_EQ(s.hosts().running(), 1);
  EXPECT_EQ(s.hosts().success(), 1);
  EXPECT_EQ(s.hosts().failed(), 1);
  EXPECT_EQ(s.step_instance_id(), 10011);
  EXPECT_EQ(s.caller(), "ci");
  EXPECT_EQ(s.operator_(), "svc");
  EXPECT_EQ(s.subscribers(), 3);
  EXPECT_EQ(s.scope().type(), "biz");
}

}  // namespace
}  // namespace jobgw::server
