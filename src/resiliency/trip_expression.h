// The circuit breaker's `trip` condition: the small subset of CEL that Dapr users write
// (`consecutiveFailures >= 5 && requests > 10`). Hand-written because no Debian-packaged CEL
// library exists; anything outside the subset is refused when the policy is loaded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dapr/status.h"

namespace dapr::resiliency {

// The counters a trip expression may name, with the names Dapr gives them.
struct BreakerCounts {
  int64_t requests = 0;
  int64_t total_successes = 0;
  int64_t total_failures = 0;
  int64_t consecutive_successes = 0;
  int64_t consecutive_failures = 0;
};

// Grammar (whitespace free between tokens):
//   or      := and ("||" and)*
//   and     := primary ("&&" primary)*
//   primary := "(" or ")" | operand compare operand
//   operand := counter name | non-negative integer
//   compare := > >= < <= == !=
// Parsed once; evaluation is a walk over an immutable tree, so copies share it safely.
class TripExpression {
 public:
  static Result<TripExpression> Parse(std::string_view text);

  bool Evaluate(const BreakerCounts& counts) const;
  const std::string& text() const { return text_; }

  struct Node;

 private:
  TripExpression(std::string text, std::shared_ptr<const Node> root)
      : text_(std::move(text)), root_(std::move(root)) {}

  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace dapr::resiliency
