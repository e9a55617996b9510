#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/base/result.h"

namespace jobgw::server {

// Expects an invalid-argument error whose message starts with `field` + ": " (and holds
// `fragment` when given): how every request validator names what it refused.
template <typename T>
void expect_invalid(const core::Result<T>& result, const std::string& field,
                    const std::string& fragment = {}) {
  ASSERT_FALSE(result.ok()) << "expected a failure naming " << field;
  EXPECT_EQ(result.error().kind, core::ErrorKind::kInvalidArgument);
  EXPECT_THAT(result.error().message, ::testing::StartsWith(field + ": "));
  if (!fragment.empty()) {
    EXPECT_THAT(result.error().message, ::testing::HasSubstr(fragment));
  }
}

}  // namespace jobgw::server
