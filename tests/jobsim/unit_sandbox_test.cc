#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "jobsim/sandbox.h"
#include "tests/support/temp_dir.h"

namespace jobsim {
namespace {

namespace fs = std::filesystem;

TEST(SandboxTest, NormalizesLexically) {
  EXPECT_EQ(Sandboxes::normalize("/data/app.log"), "/data/app.log");
  EXPECT_EQ(Sandboxes::normalize("/data//./x/../app.log"), "/data/app.log");
  EXPECT_EQ(Sandboxes::normalize("/"), "/");
  EXPECT_EQ(Sandboxes::normalize("/tmp/"), "/tmp");
  EXPECT_EQ(Sandboxes::normalize("/data/.."), "/");
  EXPECT_EQ(Sandboxes::normalize("/.."), std::nullopt);
  EXPECT_EQ(Sandboxes::normalize("/data/../../etc/passwd"), std::nullopt);
  EXPECT_EQ(Sandboxes::normalize("data/app.log"), std::nullopt);
  EXPECT_EQ(Sandboxes::normalize(""), std::nullopt);
}

TEST(SandboxTest, ResolvesInsideTheHostAndRefusesSymlinkEscapes) {
  jobgw::testing::TempDir tmp("jobsim-sandbox");
  Sandboxes sb(tmp.file("data"));
  fs::path root = sb.ensure_host(101);
  EXPECT_TRUE(fs::is_directory(root / "tmp"));
  auto p = sb.resolve(101, "/data/app.log");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, fs::canonical(root) / "data" / "app.log");
  EXPECT_EQ(*sb.resolve(101, "/"), fs::canonical(root));
  EXPECT_FALSE(sb.resolve(101, "/../102/data"));

  // A symlink leading out of the sandbox is refused, one staying inside is followed.
  fs::create_directories(tmp.file("outside"));
  fs::create_symlink(tmp.file("outside"), root / "data" / "out");
  EXPECT_FALSE(sb.resolve(101, "/data/out"));
  EXPECT_FALSE(sb.resolve(101, "/data/out/secret"));
  fs::create_symlink("../tmp", root / "data" / "in");
  auto in = sb.resolve(101, "/data/in/x");
  ASSERT_TRUE(in);
  EXPECT_EQ(*in, fs::canonical(root) / "tmp" / "x");
  // An absolute symlink into another host's sandbox is an escape too.
  fs::path other = sb.ensure_host(102);
  fs::create_symlink(other, root / "data" / "neighbour");
  EXPECT_FALSE(sb.resolve(101, "/data/neighbour/data"));
  // "/data/../.." climbs above the root.
  EXPECT_FALSE(sb.resolve(101, "/data/../.."));
}

}  // namespace
}  // namespace jobsim
