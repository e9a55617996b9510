#include "client/cli_args.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>

#include "client/plan_args.h"

namespace jobgw::client {
namespace {

const std::set<std::string> kCommands = {"exec",   "transfer",  "watch",   "logs",    "list",
                                         "status", "terminate", "health",  "token",   "plans",
                                         "plan",   "run-plan",  "operate", "confirm", "outputs"};

bool parse_int64(const std::string& text, std::int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool parse_positive(const std::string& text, std::int64_t* out) {
  return parse_int64(text, out) && *out > 0;
}

bool valid_ip(const std::string& ip) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, ip.c_str(), buf) == 1 || ::inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  while (true) {
    auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

// A flag handler gets the value (empty for switches) and returns an error message or "".
struct Flag {
  bool takes_value;
  std::function<std::string(const std::string&)> apply;
};

std::string set_seconds(const std::string& v, std::int32_t* out, std::int64_t max) {
  std::int64_t n = 0;
  if (!parse_positive(v, &n) || n > max) {
    return "bad timeout '" + v + "' (seconds, 1.." + std::to_string(max) + ")";
  }
  *out = static_cast<std::int32_t>(n);
  return "";
}

std::string set_rpc_timeout(const std::string& v, GlobalOptions* g) {
  std::int64_t n = 0;
  if (!parse_positive(v, &n) || n > 86400 * 7) return "bad RPC timeout '" + v + "' (seconds)";
  g->rpc_timeout = std::chrono::seconds(n);
  return "";
}

// A flag naming a file; the value is kept as given, the file is read when the channel opens.
Flag file_flag(const char* name, std::string* out, bool* tls) {
  return {true, [name, out, tls](const std::string& v) {
            if (v.empty()) return std::string(name) + " needs a file";
            *out = v;
            if (tls != nullptr) *tls = true;
            return std::string();
          }};
}

void add_security_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  GlobalOptions* g = &c->global;
  // The message never echoes the value: it is a secret.
  f["--token"] = {true, [g](const std::string& v) {
                    if (v.empty()) return std::string("--token needs a value");
                    g->token = v;
                    return std::string();
                  }};
  f["--tls"] = {false, [g](const std::string&) {
                  g->tls = true;
                  return std::string();
                }};
  f["--ca-file"] = file_flag("--ca-file", &g->ca_file, &g->tls);
  f["--cert-file"] = file_flag("--cert-file", &g->cert_file, &g->tls);
  f["--key-file"] = file_flag("--key-file", &g->key_file, nullptr);
  f["--server-name"] = {true, [g](const std::string& v) {
                          if (v.empty()) return std::string("--server-name needs a name");
                          g->server_name = v;
                          return std::string();
                        }};
}

std::map<std::string, Flag> global_flags(CliCommand* c) {
  std::map<std::string, Flag> f;
  f["--addr"] = {true, [c](const std::string& v) {
                   std::string error;
                   if (!valid_address(v, &error)) return error;
                   c->global.address = v;
                   return std::string();
                 }};
  f["--rpc-timeout"] = {true, [c](const std::string& v) { return set_rpc_timeout(v, &c->global); }};
  f["--scope"] = {true, [c](const std::string& v) {
                    std::string error;
                    auto s = parse_scope(v, &error);
                    if (s) c->global.scope = *s;
                    c->global.scope_set = true;
                    return error;
                  }};
  f["--operator"] = {true, [c](const std::string& v) {
                       c->global.operator_name = v;
                       return std::string();
                     }};
  add_security_flags(f, c);
  f["--verbose"] = {false, [c](const std::string&) {
                      c->verbose = true;
                      return std::string();
                    }};
  f["--version"] = {false, [c](const std::string&) {
                      c->version = true;
                      return std::string();
                    }};
  f["--help"] = {false, [c](const std::string&) {
                   c->help = true;
                   return std::string();
                 }};
  f["-h"] = f["--help"];
  // --timeout meant the RPC timeout here and the job's timeout after exec/transfer.
  f["--timeout"] = {true, [](const std::string&) {
                      return std::string(
                          "--timeout is gone here: use --rpc-timeout SEC (each call's deadline) "
                          "or, on exec/transfer, --job-timeout SEC (the script's timeout)");
                    }};
  return f;
}

void add_output_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  f["--json"] = {false, [c](const std::string&) {
                   c->output = OutputMode::kJson;
                   return std::string();
                 }};
  f["--plain"] = {false, [c](const std::string&) {
                    if (c->output == OutputMode::kAuto) c->output = OutputMode::kPlain;
                    return std::string();
                  }};
}

void add_target_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  f["--host-ids"] = {true, [c](const std::string& v) {
                       std::string e;
                       add_host_ids(v, &c->targets, &e);
                       return e;
                     }};
  f["--hosts"] = {true, [c](const std::string& v) {
                    std::string e;
                    add_host_specs(v, &c->targets, &e);
                    return e;
                  }};
}

void add_job_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  add_output_flags(f, c);
  add_target_flags(f, c);
  f["--job-timeout"] = {
      true, [c](const std::string& v) { return set_seconds(v, &c->job_timeout, 86400); }};
  // Kept for one release so scripts keep working; the warning says what replaces it.
  f["--timeout"] = {true, [c](const std::string& v) {
                      c->warnings.push_back(
                          "--timeout is deprecated: it is --job-timeout (the script's timeout); "
                          "each call's deadline is --rpc-timeout");
                      return set_seconds(v, &c->job_timeout, 86400);
                    }};
  f["--request-id"] = {true, [c](const std::string& v) {
                         if (v.empty() || v.size() > 128) {
                           return std::string("--request-id needs an id of 1..128 characters");
                         }
                         c->request_id = v;
                         return std::string();
                       }};
  f["--no-request-id"] = {false, [c](const std::string&) {
                            c->no_request_id = true;
                            return std::string();
                          }};
  f["--account"] = {true, [c](const std::string& v) {
                      if (v.empty()) return std::string("--account needs an alias");
                      c->account_alias = v;
                      return std::string();
                    }};
  f["--account-id"] = {true, [c](const std::string& v) {
                         return parse_positive(v, &c->account_id) ? std::string()
                                                                  : "bad --account-id '" + v + "'";
                       }};
  f["--name"] = {true, [c](const std::string& v) {
                   c->task_name = v;
                   return std::string();
                 }};
  f["--watch"] = {false, [c](const std::string&) {
                    c->watch = true;
                    return std::string();
                  }};
  f["--logs"] = {false, [c](const std::string&) {
                   c->logs = true;
                   return std::string();
                 }};
}

void add_list_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  f["--json"] = {false, [c](const std::string&) {
                   c->output = OutputMode::kJson;
                   return std::string();
                 }};
  f["--state"] = {true, [c](const std::string& v) {
                    static const std::map<std::string, ListState> states = {
                        {"running", ListState::kRunning},
                        {"finished", ListState::kFinished},
                        {"failed", ListState::kFailed}};
                    auto it = states.find(v);
                    if (it == states.end()) {
                      return "unknown --state '" + v + "' (running, finished, failed)";
                    }
                    c->list_state = it->second;
                    return std::string();
                  }};
  f["--name-prefix"] = {true, [c](const std::string& v) {
                          c->name_prefix = v;
                          return std::string();
                        }};
  f["--limit"] = {true, [c](const std::string& v) {
                    std::int64_t n = 0;
                    if (!parse_positive(v, &n) || n > 500) {
                      return "bad --limit '" + v + "' (jobs per page, 1..500)";
                    }
                    c->limit = static_cast<std::int32_t>(n);
                    return std::string();
                  }};
  f["--all"] = {false, [c](const std::string&) {
                  c->all_pages = true;
                  return std::string();
                }};
}

std::string set_limit(const std::string& v, std::int64_t* out) {
  return parse_positive(v, out) ? "" : "bad speed limit '" + v + "' (MB/s, > 0)";
}

std::string set_count(const std::string& v, const char* flag, std::int64_t min, std::int64_t max,
                      std::int32_t* out) {
  std::int64_t n = 0;
  if (!parse_int64(v, &n) || n < min || n > max) {
    return "bad " + std::string(flag) + " '" + v + "' (" + std::to_string(min) + ".." +
           std::to_string(max) + ")";
  }
  *out = static_cast<std::int32_t>(n);
  return "";
}

// A flag adding one plan variable through `parse` (parse_var_by_name, ...).
Flag variable_flag(CliCommand* c,
                   std::optional<v1::PlanVariable> (*parse)(const std::string&, std::string*)) {
  return {true, [c, parse](const std::string& v) {
            std::string e;
            auto var = parse(v, &e);
            if (var) c->plan_variables.push_back(std::move(*var));
            return e;
          }};
}

void add_plan_flags(std::map<std::string, Flag>& f, CliCommand* c) {
  const std::string& cmd = c->name;
  if (cmd == "plans" || cmd == "plan" || cmd == "outputs") {
    f["--json"] = {false, [c](const std::string&) {
                     c->output = OutputMode::kJson;
                     return std::string();
                   }};
  }
  if (cmd == "plans") {
    f["--name"] = {true, [c](const std::string& v) {
                     c->plan_name_filter = v;
                     return std::string();
                   }};
    f["--creator"] = {true, [c](const std::string& v) {
                        c->creator = v;
                        return std::string();
                      }};
    f["--page-size"] = {true, [c](const std::string& v) {
                          return set_count(v, "--page-size", 1, 1000, &c->page_size);
                        }};
    f["--offset"] = {true, [c](const std::string& v) {
                       return set_count(v, "--offset", 0, INT32_MAX, &c->offset);
                     }};
  } else if (cmd == "run-plan") {
    add_output_flags(f, c);
    f["--var"] = variable_flag(c, parse_var_by_name);
    f["--var-id"] = variable_flag(c, parse_var_by_id);
    f["--hosts-var"] = variable_flag(c, parse_hosts_var);
    f["--request-id"] = {true, [c](const std::string& v) {
                           if (v.empty() || v.size() > 128) {
                             return std::string("--request-id needs an id of 1..128 characters");
                           }
                           c->request_id = v;
                           return std::string();
                         }};
    f["--no-request-id"] = {false, [c](const std::string&) {
                              c->no_request_id = true;
                              return std::string();
                            }};
    f["--watch"] = {false, [c](const std::string&) {
                      c->watch = true;
                      return std::string();
                    }};
    f["--logs"] = {false, [c](const std::string&) {
                     c->logs = true;
                     return std::string();
                   }};
  } else if (cmd == "outputs") {
    f["--all-hosts"] = {false, [c](const std::string&) {
                          c->all_hosts = true;
                          return std::string();
                        }};
    f["--per-step"] = {false, [c](const std::string&) {
                         c->per_step = true;
                         return std::string();
                       }};
  }
}

std::map<std::string, Flag> command_flags(CliCommand* c) {
  std::map<std::string, Flag> f;
  const std::string& cmd = c->name;
  if (cmd == "exec") {
    add_job_flags(f, c);
    f["-c"] = {true, [c](const std::string& v) {
                 c->script_content = v;
                 c->inline_script = true;
                 return std::string();
               }};
    f["--command"] = f["-c"];
    f["--file"] = {true, [c](const std::string& v) {
                     if (v.empty()) return std::string("--file needs a path ('-' reads stdin)");
                     c->script_file = v;
                     return std::string();
                   }};
    f["--lang"] = {true, [c](const std::string& v) {
                     auto l = parse_language(v);
                     if (!l)
                       return "unknown --lang '" + v + "' (shell, bat, perl, python, powershell)";
                     c->language = *l;
                     return std::string();
                   }};
    f["--param"] = {true, [c](const std::string& v) {
                      c->param = v;
                      return std::string();
                    }};
    f["--sensitive"] = {false, [c](const std::string&) {
                          c->sensitive = true;
                          return std::string();
                        }};
    f["--max-script-bytes"] = {true, [c](const std::string& v) {
                                 std::int64_t n = 0;
                                 if (!parse_int64(v, &n) || n < 0) {
                                   return "bad --max-script-bytes '" + v + "' (bytes, 0: no check)";
                                 }
                                 c->max_script_bytes = n;
                                 return std::string();
                               }};
  } else if (cmd == "transfer") {
    add_job_flags(f, c);
    f["--from"] = {true, [c](const std::string& v) {
                     std::string e;
                     auto s = parse_transfer_source(v, &e);
                     if (s) c->sources.push_back(*s);
                     return e;
                   }};
    f["--to"] = {true, [c](const std::string& v) {
                   if (v.empty() || v[0] != '/')
                     return "--to needs an absolute directory, got '" + v + "'";
                   c->target_path = v;
                   return std::string();
                 }};
    f["--source-account"] = {true, [c](const std::string& v) {
                               c->source_account = v;
                               return std::string();
                             }};
    f["--upload-limit"] = {true,
                           [c](const std::string& v) { return set_limit(v, &c->upload_limit_mb); }};
    f["--download-limit"] = {
        true, [c](const std::string& v) { return set_limit(v, &c->download_limit_mb); }};
    f["--mode"] = {true, [c](const std::string& v) {
                     if (v == "strict")
                       c->transfer_mode = v1::TRANSFER_MODE_STRICT;
                     else if (v == "force")
                       c->transfer_mode = v1::TRANSFER_MODE_FORCE;
                     else
                       return "unknown --mode '" + v + "' (strict, force)";
                     return std::string();
                   }};
  } else if (cmd == "watch") {
    add_output_flags(f, c);
    f["--after-seq"] = {true, [c](const std::string& v) {
                          std::int64_t n = 0;
                          if (!parse_int64(v, &n) || n < 0) return "bad --after-seq '" + v + "'";
                          c->after_seq = static_cast<std::uint64_t>(n);
                          return std::string();
                        }};
    f["--no-reconnect"] = {false, [c](const std::string&) {
                             c->reconnect = false;
                             return std::string();
                           }};
  } else if (cmd == "logs") {
    add_output_flags(f, c);
    f["-f"] = {false, [c](const std::string&) {
                 c->follow = true;
                 return std::string();
               }};
    f["--follow"] = f["-f"];
    f["--step"] = {true, [c](const std::string& v) {
                     return parse_positive(v, &c->step_id) ? std::string()
                                                           : "bad --step '" + v + "'";
                   }};
    f["--host"] = {true, [c](const std::string& v) {
                     std::string e;
                     add_host_specs(v, &c->targets, &e);
                     return e;
                   }};
  } else if (cmd == "list") {
    add_list_flags(f, c);
  } else if (cmd == "status") {
    add_output_flags(f, c);
  } else if (cmd == "health") {
    f["--service"] = {true, [c](const std::string& v) {
                        c->service = v;
                        return std::string();
                      }};
    f["--require-job"] = {false, [c](const std::string&) {
                            c->require_job = true;
                            return std::string();
                          }};
  } else if (cmd == "plans" || cmd == "plan" || cmd == "run-plan" || cmd == "operate" ||
             cmd == "confirm" || cmd == "outputs") {
    add_plan_flags(f, c);
  } else if (cmd == "token") {
    f["--generate"] = {false, [c](const std::string&) {
                         c->generate_token = true;
                         return std::string();
                       }};
  }
  // Global flags are accepted after the subcommand too; a subcommand's own flag of the same
  // name (exec's --timeout) wins.
  for (auto& [name, flag] : global_flags(c)) f.emplace(name, flag);
  return f;
}

std::string positional(CliCommand* c, const std::string& arg, int index) {
  const std::string& cmd = c->name;
  if (cmd == "transfer") {
    std::string e;
    auto s = parse_transfer_source(arg, &e);
    if (s) c->sources.push_back(*s);
    return e;
  }
  if (cmd == "exec" && index == 0) {
    c->script_file = arg;
    return "";
  }
  if (cmd == "status") {
    std::int64_t id = 0;
    if (!parse_positive(arg, &id)) return "bad JOB_ID '" + arg + "'";
    if (index == 0) c->job_id = id;
    c->job_ids.push_back(id);
    return "";
  }
  if ((cmd == "plan" || cmd == "run-plan") && index == 0) {
    return parse_positive(arg, &c->plan_id) ? "" : "bad PLAN_ID '" + arg + "'";
  }
  if (cmd == "operate" || cmd == "confirm") {
    if (index == 0) return parse_positive(arg, &c->job_id) ? "" : "bad JOB_ID '" + arg + "'";
    if (index == 1) return parse_positive(arg, &c->step_id) ? "" : "bad STEP_ID '" + arg + "'";
    if (index == 2 && cmd == "operate") {
      auto op = parse_step_operation(arg);
      if (!op) return "unknown OPERATION '" + arg + "' (" + step_operation_list() + ")";
      c->step_operation = *op;
      return "";
    }
  }
  if (cmd == "outputs" && index == 0) {
    return parse_positive(arg, &c->job_id) ? "" : "bad JOB_ID '" + arg + "'";
  }
  if (cmd == "token" && index == 0) {
    if (arg != "hash") return "unknown token action '" + arg + "' (hash)";
    c->token_action = arg;
    return "";
  }
  if ((cmd == "watch" || cmd == "logs" || cmd == "status" || cmd == "terminate") && index == 0) {
    return parse_positive(arg, &c->job_id) ? "" : "bad JOB_ID '" + arg + "'";
  }
  return "unexpected argument '" + arg + "'";
}

std::string check(const CliCommand& c) {
  const std::string& cmd = c.name;
  if (cmd == "exec") {
    if (c.inline_script == !c.script_file.empty()) {
      return "exec needs a script: a FILE or -c 'inline' (not both)";
    }
    if (c.inline_script && c.script_content.find_first_not_of(" \t\r\n") == std::string::npos) {
      return "the script is empty (-c/--command)";
    }
  }
  if (cmd == "transfer") {
    if (c.sources.empty()) return "transfer needs at least one source HOSTSPEC:/path";
    if (c.target_path.empty()) return "transfer needs --to /dir";
  }
  if (cmd == "exec" || cmd == "transfer") {
    if (c.targets.host_ids_size() == 0 && c.targets.hosts_size() == 0) {
      return cmd + " needs targets: --host-ids or --hosts";
    }
    if (c.logs && !c.watch) return "--logs needs --watch";
    if (c.no_request_id && !c.request_id.empty()) {
      return "--request-id and --no-request-id do not go together";
    }
  }
  if ((cmd == "watch" || cmd == "logs" || cmd == "status" || cmd == "terminate") && c.job_id == 0) {
    return cmd + " needs a JOB_ID";
  }
  if ((cmd == "plan" || cmd == "run-plan") && c.plan_id == 0) return cmd + " needs a PLAN_ID";
  if (cmd == "operate" || cmd == "confirm" || cmd == "outputs") {
    if (c.job_id == 0) return cmd + " needs a JOB_ID";
    if (cmd != "outputs" && c.step_id == 0) return cmd + " needs a STEP_ID";
    if (cmd == "operate" && c.step_operation == v1::STEP_OPERATION_UNSPECIFIED) {
      return "operate needs an OPERATION (" + step_operation_list() + ")";
    }
  }
  if (cmd == "run-plan") {
    if (c.logs && !c.watch) return "--logs needs --watch";
    if (c.no_request_id && !c.request_id.empty()) {
      return "--request-id and --no-request-id do not go together";
    }
  }
  if (cmd == "token" && c.token_action.empty()) return "token needs an action: jobctl token hash";
  if (c.global.cert_file.empty() != c.global.key_file.empty()) {
    return "--cert-file and --key-file go together";
  }
  if (!c.global.tls && !c.global.server_name.empty()) return "--server-name needs --tls";
  return "";
}

}  // namespace

std::string new_request_id(std::uint64_t random) {
  static const char kHex[] = "0123456789abcdef";
  std::string id = "jobctl-";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(random >> shift) & 0xf]);
  return id;
}

bool valid_address(const std::string& address, std::string* error) {
  const std::string example = " (HOST:PORT, e.g. 127.0.0.1:50051)";
  // gRPC's own target forms pass as they are: the channel reports what it cannot use.
  for (const char* scheme : {"dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:"}) {
    if (address.rfind(scheme, 0) == 0 && address.size() > std::string(scheme).size()) return true;
  }
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close != std::string::npos && close + 1 < address.size() && address[close + 1] == ':') {
      host = address.substr(1, close - 1);
      port = address.substr(close + 2);
    }
  } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  std::int64_t n = 0;
  if (host.empty() || host.find_first_of(" /[]") != std::string::npos ||
      (host.find(':') != std::string::npos && address[0] != '[')) {
    *error = "bad --addr '" + address + "': no host or port" + example;
    return false;
  }
  if (!parse_positive(port, &n) || n > 65535) {
    *error = "bad --addr '" + address + "': bad port '" + port + "'" + example;
    return false;
  }
  return true;
}

std::optional<v1::Host> parse_host_spec(const std::string& text, std::string* error) {
  v1::Host host;
  auto colon = text.find(':');
  if (colon == std::string::npos) {
    std::int64_t id = 0;
    if (!parse_positive(text, &id)) {
      *error = "bad host '" + text + "' (a host id or CLOUD:IP)";
      return std::nullopt;
    }
    host.set_host_id(id);
    return host;
  }
  std::int64_t cloud = 0;
  std::string ip = text.substr(colon + 1);
  if (!parse_int64(text.substr(0, colon), &cloud) || cloud < 0 || !valid_ip(ip)) {
    *error = "bad host '" + text + "' (a host id or CLOUD:IP, e.g. 0:192.0.2.1)";
    return std::nullopt;
  }
  host.set_cloud_id(cloud);
  host.set_ip(ip);
  return host;
}

bool add_host_specs(const std::string& text, v1::Targets* targets, std::string* error) {
  for (const auto& item : split(text, ',')) {
    auto host = parse_host_spec(item, error);
    if (!host) return false;
    if (host->ip().empty()) {
      targets->add_host_ids(host->host_id());
    } else {
      *targets->add_hosts() = *host;
    }
  }
  return true;
}

bool add_host_ids(const std::string& text, v1::Targets* targets, std::string* error) {
  for (const auto& item : split(text, ',')) {
    std::int64_t id = 0;
    if (!parse_positive(item, &id)) {
      *error = "bad host id '" + item + "'";
      return false;
    }
    targets->add_host_ids(id);
  }
  return true;
}

std::optional<TransferSourceSpec> parse_transfer_source(const std::string& text,
                                                        std::string* error) {
  auto pos = text.find(":/");
  if (pos == std::string::npos || pos == 0) {
    *error = "bad source '" + text + "' (HOSTSPEC:/path, e.g. 101:/data/a.log)";
    return std::nullopt;
  }
  auto host = parse_host_spec(text.substr(0, pos), error);
  if (!host) return std::nullopt;
  return TransferSourceSpec{*host, text.substr(pos + 1)};
}

std::optional<v1::Scope> parse_scope(const std::string& text, std::string* error) {
  auto colon = text.find(':');
  v1::Scope scope;
  if (colon != std::string::npos) {
    scope.set_type(text.substr(0, colon));
    scope.set_id(text.substr(colon + 1));
  }
  if (colon == std::string::npos || (scope.type() != "biz" && scope.type() != "biz_set") ||
      scope.id().empty()) {
    *error = "bad scope '" + text + "' (biz:ID or biz_set:ID)";
    return std::nullopt;
  }
  return scope;
}

std::optional<v1::ScriptLanguage> parse_language(const std::string& text) {
  static const std::map<std::string, v1::ScriptLanguage> names = {
      {"shell", v1::SCRIPT_LANGUAGE_SHELL},
      {"bash", v1::SCRIPT_LANGUAGE_SHELL},
      {"sh", v1::SCRIPT_LANGUAGE_SHELL},
      {"bat", v1::SCRIPT_LANGUAGE_BAT},
      {"perl", v1::SCRIPT_LANGUAGE_PERL},
      {"python", v1::SCRIPT_LANGUAGE_PYTHON},
      {"powershell", v1::SCRIPT_LANGUAGE_POWERSHELL}};
  auto it = names.find(text);
  if (it == names.end()) return std::nullopt;
  return it->second;
}

std::variant<CliCommand, UsageError> parse_command_line(const std::vector<std::string>& args,
                                                        const EnvLookup& env) {
  CliCommand c;
  c.global.scope.set_type("biz");
  c.global.scope.set_id("1");
  if (auto a = env("JOBGW_ADDR"); a && !a->empty()) {
    std::string error;
    if (!valid_address(*a, &error)) return UsageError{"JOBGW_ADDR: " + error};
    c.global.address = *a;
  }
  if (auto t = env("JOBGW_TOKEN"); t && !t->empty()) c.global.token = *t;
  if (auto s = env("JOBGW_SCOPE"); s && !s->empty()) {
    std::string error;
    auto scope = parse_scope(*s, &error);
    if (!scope) return UsageError{"JOBGW_SCOPE: " + error};
    c.global.scope = *scope;
    c.global.scope_set = true;
  }

  std::map<std::string, Flag> flags = global_flags(&c);
  int positional_index = 0;
  bool only_positionals = false;
  // `jobctl help [COMMAND]`: the next word names the command whose help is wanted.
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool is_flag = !only_positionals && arg.size() > 1 && arg[0] == '-';
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (!is_flag) {
      if (c.name.empty() && arg == "help") {
        // `jobctl help help` is the overview, as `jobctl help` is.
        c.help = true;
        continue;
      }
      if (c.name.empty()) {
        if (kCommands.count(arg) == 0) return UsageError{"unknown command '" + arg + "'"};
        c.name = arg;
        flags = command_flags(&c);
        continue;
      }
      std::string e = positional(&c, arg, positional_index++);
      if (!e.empty()) return UsageError{e};
      continue;
    }
    std::string name = arg, value;
    bool has_inline = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_inline = true;
    }
    auto it = flags.find(name);
    if (it == flags.end()) {
      return UsageError{"unknown flag '" + name + "'" + (c.name.empty() ? "" : " for " + c.name)};
    }
    if (it->second.takes_value && !has_inline) {
      if (i + 1 >= args.size()) return UsageError{name + " needs a value"};
      value = args[++i];
    } else if (!it->second.takes_value && has_inline) {
      return UsageError{name + " takes no value"};
    }
    std::string e = it->second.apply(value);
    if (!e.empty()) return UsageError{e};
  }
  if (c.help || c.version) return c;
  if (c.name.empty()) return UsageError{"no command given (see jobctl --help)"};
  if (auto e = check(c); !e.empty()) return UsageError{e};
  return c;
}

std::string usage(const std::string& command) {
  static const char kGlobal[] =
      "Global options (before or after the command):\n"
      "  --addr HOST:PORT     jobgw address (env JOBGW_ADDR; default 127.0.0.1:50051)\n"
      "  --rpc-timeout SEC    deadline of each call (default 30); a watch (watch,\n"
      "                       --watch) or a follow (logs -f) is not bounded by it\n"
      "  --scope TYPE:ID      biz:ID or biz_set:ID (env JOBGW_SCOPE; default biz:1)\n"
      "  --operator USER      JOB user to act as (default: jobgw's operator)\n"
      "  --token TOKEN        bearer token sent on every call (env JOBGW_TOKEN; the flag\n"
      "                       wins). Prefer the env: flags show up in ps\n"
      "  --tls                connect with TLS, trusting the system's CA certificates\n"
      "  --ca-file FILE       PEM CA certificate(s) jobgw's certificate must chain to\n"
      "                       (implies --tls)\n"
      "  --cert-file FILE     PEM client certificate for mutual TLS (implies --tls;\n"
      "  --key-file FILE      with its PEM private key)\n"
      "  --server-name NAME   name jobgw's certificate must carry, when --addr's host\n"
      "                       is not in it\n"
      "  --verbose            gRPC's own log lines on stderr, and event seq numbers\n"
      "  --version            print jobctl's version and git revision\n"
      "  -h, --help           this help (also: jobctl help [COMMAND])\n";
  static const char kTargets[] =
      "  --host-ids ID,...    target hosts by host id\n"
      "  --hosts SPEC,...     target hosts by HOSTSPEC: CLOUD:IP (0:192.0.2.1, 0:2001:db8::1)\n"
      "                       or a host id\n";
  static const char kJob[] =
      "  --job-timeout SEC    the script's timeout on each host, 1..86400 (default JOB's\n"
      "                       7200); --timeout is a deprecated alias of it\n"
      "  --request-id ID      idempotency key: jobgw answers a repeated ID with the first\n"
      "                       submit's job (default: a new jobctl-<16 hex>, printed on\n"
      "                       stderr, or as request_id with --json)\n"
      "  --no-request-id      send none: no deduplication (a replicated jobgw whose Redis\n"
      "                       is down refuses submits that carry one)\n"
      "  --account ALIAS      account to run as (default jobgw's, e.g. root)\n"
      "  --account-id ID      account by JOB id (wins over --account)\n"
      "  --name NAME          job instance name\n"
      "  --watch              follow the job to its end; exit 0 on success, 1 otherwise\n"
      "  --logs               with --watch: print each host's output as it is written,\n"
      "                       each line prefixed by its host (the first 100 hosts; with\n"
      "                       --json: every host's output at the end)\n"
      "  --plain | --json     watch output: plain lines / one JSON object per line\n"
      "                       (default: live table on a terminal, plain lines otherwise)\n";
  std::string out;
  if (command == "exec") {
    out =
        "Usage: jobctl exec [FILE | -c SCRIPT] TARGETS [options]\n"
        "Runs a script on hosts and prints 'job ID step ID'.\n\n"
        "  FILE, --file FILE    script file ('-' reads stdin)\n"
        "  -c, --command TEXT   inline script\n"
        "  --lang LANG          shell (default), bat, perl, python, powershell\n"
        "  --param TEXT         script parameters\n"
        "  --sensitive          hide the parameters in JOB's UI\n"
        "  --max-script-bytes N refuse a larger script before sending (default 1048576,\n"
        "                       jobgw's default limits.max_script_bytes; 0: no check)\n" +
        std::string(kTargets) + kJob;
  } else if (command == "transfer") {
    out =
        "Usage: jobctl transfer SOURCE... --to DIR TARGETS [options]\n"
        "Copies files from source hosts to a directory on the target hosts.\n\n"
        "  SOURCE, --from SOURCE  HOSTSPEC:/path, e.g. 101:/data/a.log or\n"
        "                       0:192.0.2.1:/data/a.log (repeatable)\n"
        "  --to DIR             target directory (absolute)\n"
        "  --source-account A   account reading the sources (default jobgw's)\n"
        "  --upload-limit MB    upload speed limit, MB/s\n"
        "  --download-limit MB  download speed limit, MB/s\n"
        "  --mode strict|force  missing source files fail the step / are skipped\n" +
        std::string(kTargets) + kJob;
  } else if (command == "watch") {
    out =
        "Usage: jobctl watch JOB_ID [options]\n"
        "Follows a job to its end: a live table on a terminal, one line per event otherwise.\n"
        "Reconnects by itself when jobgw restarts. Exit 0 on success, 1 otherwise.\n\n"
        "  --plain              plain lines even on a terminal\n"
        "  --json               each event as one JSON line\n"
        "  --after-seq N        resume after event N\n"
        "  --no-reconnect       end when the stream breaks instead of reconnecting\n";
  } else if (command == "logs") {
    out =
        "Usage: jobctl logs JOB_ID [-f] [--step ID] [--host SPEC,...] [--json]\n"
        "Prints each host's output of a step (default: the job's steps, all hosts).\n\n"
        "  -f, --follow         print the output as it is written until every host ended\n"
        "                       (default step: the job's first); lines are prefixed by their\n"
        "                       host when several are followed. Reconnects by itself.\n"
        "                       Exit 0 when every host succeeded, 1 otherwise\n"
        "  --step ID            step instance id\n"
        "  --host SPEC,...      only these hosts (repeatable)\n"
        "  --json               the raw response as JSON (with -f: each event, one per line)\n";
  } else if (command == "list") {
    out =
        "Usage: jobctl list [--state STATE] [--name-prefix P] [--limit N] [--all] [--json]\n"
        "Lists the jobs jobgw follows or saw finish recently, newest first: the --scope\n"
        "given (or JOBGW_SCOPE), else every scope you may read.\n\n"
        "  --state STATE        running, finished or failed (default: all)\n"
        "  --name-prefix P      only jobs whose name starts with P\n"
        "  --limit N            jobs per page, 1..500 (default 50)\n"
        "  --all                every page, not just the first\n"
        "  --json               each job as one JSON line\n";
  } else if (command == "status") {
    out =
        "Usage: jobctl status JOB_ID... [--json]\n"
        "Prints each job's status and every host's, one block per job. Exit 1 if one\n"
        "finished unsuccessfully, 3 if one could not be read (the worst wins).\n\n"
        "  --json               the snapshot as JSON (several jobs: a JSON array of them;\n"
        "                       a job that could not be read is {\"job_instance_id\": ID,\n"
        "                       \"error\": \"...\"})\n";
  } else if (command == "terminate") {
    out = "Usage: jobctl terminate JOB_ID\nAsks JOB to terminate a running job.\n";
  } else if (command == "token") {
    out =
        "Usage: jobctl token hash [--generate]\n"
        "Prints the credentials-file entry for a token: its token_sha256 with a skeleton of\n"
        "the other fields to fill in. The token is read from stdin (one line), or with\n"
        "--generate a new random one (32 bytes, hex) is made and printed once, to stderr.\n\n"
        "  --generate           make a new token instead of reading one\n";
  } else if (command == "health") {
    out =
        "Usage: jobctl health [--require-job] [--service NAME]\n"
        "Prints jobgw's own health and whether jobgw reaches JOB:\n"
        "  jobgw: SERVING\n"
        "  JOB: SERVING | NOT_SERVING (jobgw cannot reach JOB) | unknown (this jobgw does\n"
        "       not report it)\n"
        "Exit 0 when jobgw is SERVING (JOB down too, unless --require-job), 1 otherwise.\n\n"
        "  --require-job        exit 1 also when JOB is not SERVING (or not reported)\n"
        "  --service NAME       ask about this one service instead (jobgw.v1.JobGateway,\n"
        "                       jobgw.v1.JOB, '' = the whole server); exit 0 when SERVING\n";
  } else if (std::string plan = plan_usage(command); !plan.empty()) {
    out = plan;
  } else {
    out =
        "Usage: jobctl [global options] COMMAND [options]\n\n"
        "Commands:\n"
        "  exec       run a script on hosts\n"
        "  transfer   copy files between hosts\n"
        "  watch      follow a job to its end\n"
        "  logs       print per-host logs of a job, or follow them live (-f)\n"
        "  list       list the jobs jobgw knows\n"
        "  status     print a job's status\n"
        "  terminate  terminate a running job\n"
        "  health     check that jobgw is serving and reaches JOB\n"
        "  token      make a credentials-file entry for a bearer token\n"
        "  plans      list the scope's job plans\n"
        "  plan       print a job plan's steps and global variables\n"
        "  run-plan   run a job plan with variables, and follow it (--watch)\n"
        "  operate    operate a step of a running job (confirm, retry-failed, ...)\n"
        "  confirm    confirm a step that waits for confirmation\n"
        "  outputs    print a job's output variables and last step's hosts\n"
        "  help       this help, or 'jobctl help COMMAND'\n\n"
        "Exit codes: 0 success, 1 job finished unsuccessfully (health: not serving),\n"
        "2 usage error, 3 RPC error (e.g. jobgw unreachable).\n"
        "'jobctl COMMAND --help' or 'jobctl help COMMAND' describes a command.\n";
  }
  return out + "\n" + kGlobal;
}

}  // namespace jobgw::client
