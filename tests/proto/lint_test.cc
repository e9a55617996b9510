// A real lint of the .proto source: runs protoc on it at test time (with
// source info), then checks that protoc is silent, that every service, rpc,
// message, field, oneof, enum and enum value carries a leading comment, that
// names follow the protobuf style guide, and that the compiled-in descriptor
// matches the source (the generated code is not stale).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.pb.h"

#ifndef JOBGW_PROTOC
#error "JOBGW_PROTOC must name the protoc executable"
#endif
#ifndef JOBGW_PROTO_ROOT
#error "JOBGW_PROTO_ROOT must name the proto source root"
#endif

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorSet;
using google::protobuf::ServiceDescriptor;
using google::protobuf::SourceLocation;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// protoc's output for the contract, compiled once per test binary.
class ProtoLint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = ::testing::TempDir();
    // One file per process: ctest runs these tests in parallel processes.
    const std::string set_path = dir + "jobgw_lint." + std::to_string(::getpid()) + ".protoset";
    const std::string err_path = dir + "jobgw_lint." + std::to_string(::getpid()) + ".stderr";
    const std::string cmd = Quote(JOBGW_PROTOC) + " --proto_path=" + Quote(JOBGW_PROTO_ROOT) +
                            " --include_source_info --descriptor_set_out=" + Quote(set_path) + " " +
                            Quote(JOBGW_PROTO_FILE) + " 2>" + Quote(err_path);
    exit_code_ = std::system(cmd.c_str());
    stderr_ = ReadFile(err_path);
    FileDescriptorSet set;
    if (exit_code_ == 0 && set.ParseFromString(ReadFile(set_path)) && set.file_size() == 1) {
      proto_ = set.file(0);
      pool_ = new DescriptorPool();
      file_ = pool_->BuildFile(proto_);
    }
    std::remove(set_path.c_str());
    std::remove(err_path.c_str());
  }

  static void TearDownTestSuite() {
    delete pool_;
    pool_ = nullptr;
    file_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(exit_code_, 0) << "protoc failed: " << stderr_;
    ASSERT_NE(file_, nullptr) << "could not load protoc's descriptor set";
  }

  static inline int exit_code_ = -1;
  static inline std::string stderr_;
  static inline google::protobuf::FileDescriptorProto proto_;
  static inline DescriptorPool* pool_ = nullptr;
  static inline const FileDescriptor* file_ = nullptr;
};

bool HasText(const std::string& s) {
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) return true;
  return false;
}

// Adds `what` to `missing` when `d` has no leading comment.
template <typename D>
void RequireLeadingComment(const D* d, const std::string& what, std::vector<std::string>* missing) {
  SourceLocation loc;
  if (!d->GetSourceLocation(&loc) || !HasText(loc.leading_comments)) missing->push_back(what);
}

void CheckEnum(const EnumDescriptor* e, std::vector<std::string>* missing) {
  RequireLeadingComment(e, "enum " + e->full_name(), missing);
  for (int i = 0; i < e->value_count(); ++i)
    RequireLeadingComment(e->value(i), "enum value " + e->value(i)->full_name(), missing);
}

void CheckMessage(const Descriptor* m, std::vector<std::string>* missing) {
  RequireLeadingComment(m, "message " + m->full_name(), missing);
  for (int i = 0; i < m->field_count(); ++i)
    RequireLeadingComment(m->field(i), "field " + m->field(i)->full_name(), missing);
  for (int i = 0; i < m->oneof_decl_count(); ++i)
    RequireLeadingComment(m->oneof_decl(i), "oneof " + m->oneof_decl(i)->full_name(), missing);
  for (int i = 0; i < m->nested_type_count(); ++i) CheckMessage(m->nested_type(i), missing);
  for (int i = 0; i < m->enum_type_count(); ++i) CheckEnum(m->enum_type(i), missing);
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

TEST_F(ProtoLint, ProtocIsSilent) {
  // No warnings (unused imports, style, ...): protoc printed nothing at all.
  EXPECT_EQ(stderr_, "");
}

TEST_F(ProtoLint, SourceInfoIsPresent) {
  EXPECT_TRUE(proto_.has_source_code_info());
  EXPECT_GT(proto_.source_code_info().location_size(), 0);
}

TEST_F(ProtoLint, EverythingHasALeadingComment) {
  std::vector<std::string> missing;
  for (int i = 0; i < file_->service_count(); ++i) {
    const ServiceDescriptor* s = file_->service(i);
    RequireLeadingComment(s, "service " + s->full_name(), &missing);
    for (int j = 0; j < s->method_count(); ++j)
      RequireLeadingComment(s->method(j), "rpc " + s->method(j)->full_name(), &missing);
  }
  for (int i = 0; i < file_->message_type_count(); ++i)
    CheckMessage(file_->message_type(i), &missing);
  for (int i = 0; i < file_->enum_type_count(); ++i) CheckEnum(file_->enum_type(i), &missing);
  EXPECT_TRUE(missing.empty()) << "missing a leading comment:" << Join(missing);
}

// "JobStatus" -> "JOB_STATUS".
std::string UpperSnake(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsLowerSnake(const std::string& s) {
  if (s.empty() || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

bool IsUpperCamel(const std::string& s) {
  if (s.empty() || !std::isupper(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

TEST_F(ProtoLint, EnumValuesArePrefixedAndZeroIsUnspecified) {
  // Enums whose 0 is a real JOB code, documented as such in the .proto.
  const std::vector<std::string> zero_is_job_code = {"HostStatus", "FileLogMode"};
  std::vector<std::string> problems;
  for (int i = 0; i < file_->enum_type_count(); ++i) {
    const EnumDescriptor* e = file_->enum_type(i);
    const std::string prefix = UpperSnake(e->name()) + "_";
    if (!IsUpperCamel(e->name())) problems.push_back(e->name() + ": not UpperCamelCase");
    for (int j = 0; j < e->value_count(); ++j) {
      const std::string& v = e->value(j)->name();
      if (v.rfind(prefix, 0) != 0) problems.push_back(v + ": not prefixed with " + prefix);
      for (char c : v)
        if (!(std::isupper(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
          problems.push_back(v + ": not UPPER_SNAKE_CASE");
    }
    ASSERT_GT(e->value_count(), 0);
    EXPECT_EQ(e->value(0)->number(), 0) << e->name() << ": first value must be 0";
    const bool exempt = std::find(zero_is_job_code.begin(), zero_is_job_code.end(), e->name()) !=
                        zero_is_job_code.end();
    if (!exempt && e->value(0)->name() != prefix + "UNSPECIFIED")
      problems.push_back(e->name() + ": value 0 must be " + prefix + "UNSPECIFIED");
  }
  EXPECT_TRUE(problems.empty()) << Join(problems);
}

TEST_F(ProtoLint, MessageAndFieldNamesFollowTheStyleGuide) {
  std::vector<std::string> problems;
  EXPECT_EQ(file_->package(), "jobgw.v1");
  for (int i = 0; i < file_->message_type_count(); ++i) {
    const Descriptor* m = file_->message_type(i);
    if (!IsUpperCamel(m->name())) problems.push_back(m->name() + ": not UpperCamelCase");
    for (int j = 0; j < m->field_count(); ++j) {
      const auto* f = m->field(j);
      if (!IsLowerSnake(f->name())) problems.push_back(f->full_name() + ": not lower_snake_case");
      if (f->is_repeated() && f->name().back() != 's')
        problems.push_back(f->full_name() + ": repeated field should be plural");
    }
  }
  for (int i = 0; i < file_->service_count(); ++i) {
    const ServiceDescriptor* s = file_->service(i);
    if (!IsUpperCamel(s->name())) problems.push_back(s->name() + ": not UpperCamelCase");
    for (int j = 0; j < s->method_count(); ++j)
      if (!IsUpperCamel(s->method(j)->name()))
        problems.push_back(s->method(j)->full_name() + ": not UpperCamelCase");
  }
  EXPECT_TRUE(problems.empty()) << Join(problems);
}

TEST_F(ProtoLint, LinesFitIn80ColumnsWithoutTabsOrTrailingSpace) {
  // The protobuf style guide: 80 columns, spaces only.
  std::istringstream source(ReadFile(std::string(JOBGW_PROTO_ROOT) + "/" + JOBGW_PROTO_FILE));
  std::vector<std::string> problems;
  std::string line;
  for (int n = 1; std::getline(source, line); ++n) {
    const std::string at = "line " + std::to_string(n) + ": ";
    if (line.size() > 80) problems.push_back(at + "longer than 80 columns");
    if (line.find('\t') != std::string::npos) problems.push_back(at + "tab");
    if (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      problems.push_back(at + "trailing whitespace");
  }
  EXPECT_TRUE(problems.empty()) << Join(problems);
}

TEST_F(ProtoLint, GeneratedCodeMatchesTheSource) {
  // The descriptor compiled into jobgw_proto equals what protoc reads now.
  const FileDescriptor* compiled = jobgw::v1::JobRef::descriptor()->file();
  EXPECT_EQ(compiled->name(), file_->name());
  google::protobuf::FileDescriptorProto from_binary;
  compiled->CopyTo(&from_binary);
  compiled->CopyJsonNameTo(&from_binary);
  google::protobuf::FileDescriptorProto from_source = proto_;
  from_source.clear_source_code_info();
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(from_binary, from_source))
      << "jobgw_proto was built from a different job_gateway.proto (rebuild it):\n"
      << diff;
}

}  // namespace
