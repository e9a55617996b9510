#include "core/job/plan_variables.h"

#include <cstddef>
#include <string>

namespace jobgw::core {
namespace {

std::string where(std::size_t index) { return "variables[" + std::to_string(index) + "]"; }

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

bool is_array(int type) { return type == kVarAssocArray || type == kVarIndexArray; }

// Only the outer shape is checked: JOB hands the text to bash, which alone decides what a
// literal means (quoting, escapes, `[k]=v` against plain words, nested parentheses inside
// quotes), and a partial parser here would refuse literals bash accepts. The common mistake,
// a bare list without parentheses, is what this catches.
bool looks_like_bash_array(const std::string& value) {
  std::size_t first = value.find_first_not_of(" \t\r\n");
  std::size_t last = value.find_last_not_of(" \t\r\n");
  return first != std::string::npos && value[first] == '(' && value[last] == ')' && last > first;
}

bool has_default(const PlanVariable& v) {
  if (v.type == kVarHostList) return v.server.has_value() && !v.server->empty();
  if (v.type == kVarPassword) return v.masked_value;
  return !v.value.empty();
}

const PlanVariable* find_by_id(const PlanDetail& plan, std::int64_t id) {
  for (const PlanVariable& v : plan.variables) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

const PlanVariable* find_by_name(const PlanDetail& plan, const std::string& name) {
  for (const PlanVariable& v : plan.variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string describe(const PlanVariable& v) {
  return quoted(v.name) + " (" + global_var_type_name(v.type) + ")";
}

}  // namespace

std::string global_var_type_name(int type) {
  switch (type) {
    case kVarString:
      return "string";
    case kVarNamespace:
      return "namespace";
    case kVarHostList:
      return "host list";
    case kVarPassword:
      return "password";
    case kVarAssocArray:
      return "associative array";
    case kVarIndexArray:
      return "indexed array";
    default:
      return "type " + std::to_string(type);
  }
}

Result<std::vector<PlanVariableValue>> resolve_plan_variables(
    const PlanDetail& plan, const std::vector<PlanVariableValue>& given) {
  std::vector<PlanVariableValue> out;
  out.reserve(given.size());
  // Which entry gave each plan variable, by its position in plan.variables.
  std::vector<std::size_t> given_at(plan.variables.size(), static_cast<std::size_t>(-1));
  for (std::size_t i = 0; i < given.size(); ++i) {
    const PlanVariableValue& g = given[i];
    const PlanVariable* var = nullptr;
    if (g.id > 0) {
      var = find_by_id(plan, g.id);
      if (var == nullptr) {
        return Error::invalid_argument(where(i) + ": the plan has no variable with id " +
                                       std::to_string(g.id));
      }
    }
    if (!g.name.empty()) {
      const PlanVariable* named = find_by_name(plan, g.name);
      if (named == nullptr) {
        return Error::invalid_argument(where(i) + ": the plan has no variable named " +
                                       quoted(g.name));
      }
      if (var != nullptr && var != named) {
        return Error::invalid_argument(where(i) + ": id " + std::to_string(g.id) + " is " +
                                       quoted(var->name) + " but the name given is " +
                                       quoted(g.name));
      }
      var = named;
    }
    if (var == nullptr) {
      return Error::invalid_argument(where(i) + ": names no variable (give its id or name)");
    }
    const std::size_t slot = static_cast<std::size_t>(var - plan.variables.data());
    if (given_at[slot] != static_cast<std::size_t>(-1)) {
      return Error::invalid_argument(where(i) + ": " + quoted(var->name) + " is already given by " +
                                     where(given_at[slot]));
    }
    given_at[slot] = i;

    const std::string named = where(i) + ": " + describe(*var);
    if (g.value && g.server) {
      return Error::invalid_argument(named + " takes a value or a server, not both");
    }
    if (var->type == kVarHostList) {
      if (!g.server) return Error::invalid_argument(named + " takes a server, not a value");
      if (var->required && g.server->empty()) {
        return Error::invalid_argument(named + " is required and the server given is empty");
      }
    } else {
      if (g.server) return Error::invalid_argument(named + " takes a value, not a server");
      if (!g.value) return Error::invalid_argument(named + " is given no value");
      if (is_array(var->type) && !g.value->empty() && !looks_like_bash_array(*g.value)) {
        return Error::invalid_argument(named +
                                       " takes a bash array literal such as (a b c) or "
                                       "([k]=v), got a value not in parentheses");
      }
      if (var->required && g.value->empty()) {
        return Error::invalid_argument(named + " is required and the value given is empty");
      }
    }
    PlanVariableValue send;
    if (var->id > 0) {
      send.id = var->id;
    } else {
      send.name = var->name;
    }
    send.value = g.value;
    send.server = g.server;
    out.push_back(std::move(send));
  }
  for (std::size_t k = 0; k < plan.variables.size(); ++k) {
    const PlanVariable& v = plan.variables[k];
    if (v.required && given_at[k] == static_cast<std::size_t>(-1) && !has_default(v)) {
      return Error::invalid_argument("variables: " + describe(v) +
                                     " is required and the plan has no default for it");
    }
  }
  return out;
}

}  // namespace jobgw::core
