#include "core/redis/redis_reply.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdlib>

namespace jobgw::core {
namespace {

RedisReply convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

std::optional<std::string> RedisReply::text() const {
  if (type == Type::kString || type == Type::kStatus) return str;
  return std::nullopt;
}

std::optional<std::int64_t> RedisReply::as_integer() const {
  if (type == Type::kInteger) return integer;
  if (type != Type::kString) return std::nullopt;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(str.data(), str.data() + str.size(), value);
  if (ec != std::errc() || ptr != str.data() + str.size()) return std::nullopt;
  return value;
}

std::string RedisReply::describe() const {
  constexpr std::size_t kMax = 200;
  auto clip = [](const std::string& s) { return s.size() <= kMax ? s : s.substr(0, kMax) + "..."; };
  switch (type) {
    case Type::kString:
      return "\"" + clip(str) + "\"";
    case Type::kStatus:
      return clip(str);
    case Type::kError:
      return "(error) " + clip(str);
    case Type::kInteger:
      return std::to_string(integer);
    case Type::kNil:
      return "(nil)";
    case Type::kArray: {
      std::string out = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) out += ", ";
        if (out.size() > kMax) {
          out += "...";
          break;
        }
        out += elements[i].describe();
      }
      return out + "]";
    }
  }
  return "?";
}

std::string format_redis_command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* wire = nullptr;
  int n = redisFormatCommandArgv(&wire, static_cast<int>(args.size()), argv.data(), lens.data());
  if (n < 0 || wire == nullptr) throw std::bad_alloc();
  std::string out(wire, static_cast<std::size_t>(n));
  redisFreeCommand(wire);
  return out;
}

struct RespReader::Impl {
  redisReader* reader = nullptr;
};

RespReader::RespReader() : impl_(std::make_unique<Impl>()) {
  impl_->reader = redisReaderCreate();
  if (impl_->reader == nullptr) throw std::bad_alloc();
}

RespReader::~RespReader() { redisReaderFree(impl_->reader); }

void RespReader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(impl_->reader, data, size) != REDIS_OK) throw std::bad_alloc();
}

Result<std::optional<RedisReply>> RespReader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->reader, &raw) != REDIS_OK) {
    return Error::internal(std::string("redis: malformed reply: ") +
                           redisReaderGetError(impl_->reader));
  }
  if (raw == nullptr) return std::optional<RedisReply>();
  std::unique_ptr<redisReply, void (*)(void*)> owned(static_cast<redisReply*>(raw),
                                                     freeReplyObject);
  return std::optional<RedisReply>(convert(*owned));
}

}  // namespace jobgw::core
