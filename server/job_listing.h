#pragma once

#include <functional>
#include <vector>

#include "core/base/result.h"
#include "jobgw/v1/job_gateway.pb.h"
#include "server/job_catalog.h"
#include "server/request_validation.h"

// ListJobs' filtering, order and paging over a catalog's entries: pure, so every replica pages
// the same way and a token from one continues on another.
namespace jobgw::server {

// A job's summary as ListJobs reports it.
void to_summary(const CatalogEntry& entry, v1::JobSummary* out);

// One page of `entries` for `query`: those `may_read` allows, matching the filters, newest first
// (JOB's create time, else when jobgw first saw the job; then the higher job id). A page_token
// that is not one this listing handed out, or that was made for other filters, is
// kInvalidArgument naming page_token.
core::Result<v1::ListJobsResponse> list_page(
    std::vector<CatalogEntry> entries, const ListJobsQuery& query,
    const std::function<bool(const core::Scope&)>& may_read);

}  // namespace jobgw::server
