// src/blocks/pubsub/routing_rule.h
// The `match` expression of a pub/sub routing rule:
//   routes: { rules: [ {match: 'event.type == "widget"', path: /widgets}, ... ], default: /other }
// Dapr writes these in CEL (Common Expression Language) over the CloudEvent. No CEL library is
// packaged for Debian 12, so this is a small hand-written evaluator for the subset that Dapr's
// documentation uses; anything outside it is refused when the subscription loads, with a
// message naming what and where, rather than failing on every event later.
//
// The subset:
//   - one identifier, `event` (the CloudEvent as a JSON object); member access `event.data.x`
//     to any depth, index access `event.data["key"]`, `event.data.items[0]`;
//   - literals: "..." and '...' strings (escapes \" \' \\ \` \? \a \b \f \n \r \t \v \xHH
//     \uHHHH \UHHHHHHHH), 64-bit integers (decimal or 0x hex, `u` suffix allowed), doubles
//     (1.5, 2e3), true, false, null, list literals ["a", "b", 3];
//   - == != < <= > >=, && || ! (with CEL's error-absorbing short-circuit), parentheses,
//     `x in list`, `"key" in map`;
//   - has(event.a.b), size(x) / x.size(), s.startsWith(t), s.endsWith(t), s.contains(t).
// Not supported (refused at compile time): arithmetic, the ?: conditional, map literals,
// macros (all, exists, exists_one, map, filter), any other identifier or function.
//
// Semantics, where this differs from or simplifies CEL:
//   - ints and doubles compare with each other numerically (1 == 1.0);
//   - == and != between values of different kinds (a string and a number, a bool and null)
//     give false / true, never an error; < <= > >= take two numbers or two strings (compared
//     byte-wise), anything else is an evaluation error;
//   - has(event.a.b) is false, not an error, when event.a is missing or is not a map;
//   - a missing field anywhere outside has() is an evaluation error, as is a non-bool result;
//   - a minus sign is only accepted directly before a number literal (-5, -1.5);
//   - `// comments` are allowed; columns in messages count bytes from 1.
// Limits, against hostile input: 4096 characters, 64 levels of nesting (parentheses, !, calls,
// lists, chained comparisons; field paths and && / || chains do not nest), and 64 levels of
// nesting inside JSON values compared with == or `in`.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "dapr/status.h"

namespace dapr::blocks::pubsub {

class RoutingRule {
 public:
  // Parses once, at load time. Errors (kInvalidArgument) name what is wrong and where, e.g.
  //   match "event.type = 1": unexpected '=' at column 12 (use ==)
  static Result<RoutingRule> Compile(std::string_view expression);

  // Evaluates against one event. A missing field, a type mismatch or a non-bool result is an
  // error; the caller treats the rule as not matching and moves on to the next rule.
  Result<bool> Matches(const nlohmann::json& event) const;

  const std::string& expression() const { return expression_; }

  struct Node;  // defined in routing_rule.cc, keeps the AST out of this header

 private:
  RoutingRule(std::string expression, std::shared_ptr<const Node> root)
      : expression_(std::move(expression)), root_(std::move(root)) {}

  std::string expression_;
  std::shared_ptr<const Node> root_;  // immutable, so copies share it
};

}  // namespace dapr::blocks::pubsub
