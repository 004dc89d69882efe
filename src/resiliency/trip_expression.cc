// Tokenizer, recursive-descent parser and evaluator for TripExpression.
#include "resiliency/trip_expression.h"

#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

namespace dapr::resiliency {

enum class Compare { kGreater, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };

// Either a comparison of two operands or a logical combination of two sub-expressions.
struct TripExpression::Node {
  enum class Kind { kCompare, kAnd, kOr } kind = Kind::kCompare;
  // kCompare: an operand is a counter (pointer to member) or a constant.
  int64_t BreakerCounts::*left_counter = nullptr;
  int64_t left_constant = 0;
  Compare compare = Compare::kEqual;
  int64_t BreakerCounts::*right_counter = nullptr;
  int64_t right_constant = 0;
  // kAnd / kOr.
  std::shared_ptr<const Node> lhs, rhs;
};

namespace {

using Node = TripExpression::Node;
using NodePtr = std::shared_ptr<const Node>;

struct Token {
  enum class Kind { kName, kNumber, kCompare, kAnd, kOr, kOpen, kClose, kEnd } kind;
  std::string text;
};

std::optional<int64_t BreakerCounts::*> CounterNamed(std::string_view name) {
  if (name == "requests") return &BreakerCounts::requests;
  if (name == "totalSuccesses") return &BreakerCounts::total_successes;
  if (name == "totalFailures") return &BreakerCounts::total_failures;
  if (name == "consecutiveSuccesses") return &BreakerCounts::consecutive_successes;
  if (name == "consecutiveFailures") return &BreakerCounts::consecutive_failures;
  return std::nullopt;
}

std::optional<Compare> CompareNamed(std::string_view op) {
  if (op == ">") return Compare::kGreater;
  if (op == ">=") return Compare::kGreaterEqual;
  if (op == "<") return Compare::kLess;
  if (op == "<=") return Compare::kLessEqual;
  if (op == "==") return Compare::kEqual;
  if (op == "!=") return Compare::kNotEqual;
  return std::nullopt;
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  auto take = [&](Token::Kind kind, size_t length) {
    tokens.push_back({kind, std::string(s.substr(i, length))});
    i += length;
  };
  while (i < s.size()) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t end = i;
      while (end < s.size() && std::isalnum(static_cast<unsigned char>(s[end]))) ++end;
      take(Token::Kind::kName, end - i);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t end = i;
      while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
      take(Token::Kind::kNumber, end - i);
    } else if (c == '&' && next == '&') {
      take(Token::Kind::kAnd, 2);
    } else if (c == '|' && next == '|') {
      take(Token::Kind::kOr, 2);
    } else if (c == '(' || c == ')') {
      take(c == '(' ? Token::Kind::kOpen : Token::Kind::kClose, 1);
    } else if ((c == '>' || c == '<' || c == '=' || c == '!') && next == '=') {
      take(Token::Kind::kCompare, 2);
    } else if (c == '>' || c == '<') {
      take(Token::Kind::kCompare, 1);
    } else {
      return InvalidArgument("unexpected character '" + std::string(1, c) + "'");
    }
  }
  tokens.push_back({Token::Kind::kEnd, ""});
  return tokens;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<NodePtr> ParseAll() {
    auto root = ParseOr();
    if (!root.ok()) return root;
    if (Peek().kind != Token::Kind::kEnd)
      return InvalidArgument("unexpected '" + Peek().text + "'");
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  Result<NodePtr> ParseOr() {
    return ParseChain(Token::Kind::kOr, Node::Kind::kOr, &Parser::ParseAnd);
  }
  Result<NodePtr> ParseAnd() {
    return ParseChain(Token::Kind::kAnd, Node::Kind::kAnd, &Parser::ParsePrimary);
  }

  // Left-associative chain of `operand (separator operand)*`.
  Result<NodePtr> ParseChain(Token::Kind separator, Node::Kind kind,
                             Result<NodePtr> (Parser::*operand)()) {
    auto lhs = (this->*operand)();
    if (!lhs.ok()) return lhs;
    NodePtr tree = lhs.value();
    while (Peek().kind == separator) {
      Next();
      auto rhs = (this->*operand)();
      if (!rhs.ok()) return rhs;
      auto node = std::make_shared<Node>();
      node->kind = kind;
      node->lhs = tree;
      node->rhs = rhs.value();
      tree = node;
    }
    return tree;
  }

  Result<NodePtr> ParsePrimary() {
    if (Peek().kind == Token::Kind::kOpen) {
      Next();
      auto inner = ParseOr();
      if (!inner.ok()) return inner;
      if (Next().kind != Token::Kind::kClose) return InvalidArgument("missing ')'");
      return inner;
    }
    auto node = std::make_shared<Node>();
    if (Status s = ParseOperand(node->left_counter, node->left_constant); !s.ok()) return s;
    const Token& op = Next();
    auto compare = op.kind == Token::Kind::kCompare ? CompareNamed(op.text) : std::nullopt;
    if (!compare)
      return InvalidArgument("expected a comparison (> >= < <= == !=), got '" + op.text + "'");
    node->compare = *compare;
    if (Status s = ParseOperand(node->right_counter, node->right_constant); !s.ok()) return s;
    return NodePtr(node);
  }

  Status ParseOperand(int64_t BreakerCounts::*& counter, int64_t& constant) {
    const Token& token = Next();
    if (token.kind == Token::Kind::kName) {
      auto named = CounterNamed(token.text);
      if (!named) {
        return InvalidArgument("unknown name '" + token.text +
                               "' (known: requests, totalSuccesses, totalFailures, "
                               "consecutiveSuccesses, consecutiveFailures)");
      }
      counter = *named;
      return Status::Ok();
    }
    if (token.kind == Token::Kind::kNumber) {
      auto [end, error] =
          std::from_chars(token.text.data(), token.text.data() + token.text.size(), constant);
      if (error != std::errc()) return InvalidArgument("number out of range: " + token.text);
      return Status::Ok();
    }
    return InvalidArgument("expected a counter name or a number, got '" + token.text + "'");
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

int64_t OperandValue(int64_t BreakerCounts::*counter, int64_t constant,
                     const BreakerCounts& counts) {
  return counter ? counts.*counter : constant;
}

bool Holds(Compare compare, int64_t a, int64_t b) {
  switch (compare) {
    case Compare::kGreater:
      return a > b;
    case Compare::kGreaterEqual:
      return a >= b;
    case Compare::kLess:
      return a < b;
    case Compare::kLessEqual:
      return a <= b;
    case Compare::kEqual:
      return a == b;
    case Compare::kNotEqual:
      return a != b;
  }
  return false;
}

bool EvaluateNode(const Node& node, const BreakerCounts& counts) {
  switch (node.kind) {
    case Node::Kind::kAnd:
      return EvaluateNode(*node.lhs, counts) && EvaluateNode(*node.rhs, counts);
    case Node::Kind::kOr:
      return EvaluateNode(*node.lhs, counts) || EvaluateNode(*node.rhs, counts);
    case Node::Kind::kCompare:
      return Holds(node.compare, OperandValue(node.left_counter, node.left_constant, counts),
                   OperandValue(node.right_counter, node.right_constant, counts));
  }
  return false;
}

}  // namespace

Result<TripExpression> TripExpression::Parse(std::string_view text) {
  auto fail = [&](const Status& why) {
    return InvalidArgument("trip expression \"" + std::string(text) + "\": " + why.message());
  };
  auto tokens = Tokenize(text);
  if (!tokens.ok()) return fail(tokens.error());
  auto root = Parser(std::move(tokens).value()).ParseAll();
  if (!root.ok()) return fail(root.error());
  return TripExpression(std::string(text), std::move(root).value());
}

bool TripExpression::Evaluate(const BreakerCounts& counts) const {
  return EvaluateNode(*root_, counts);
}

}  // namespace dapr::resiliency
