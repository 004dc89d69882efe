// src/blocks/pubsub/routing_rule.cc
// The CEL subset of routing_rule.h in three steps: a lexer, a recursive-descent parser that
// builds a small AST (refusing everything outside the subset), and a tree-walking evaluator.
// Hand-written from the CEL language definition; no code is taken from a CEL implementation.
//
// Hostile input is bounded twice: the expression's length (so the token list is small) and
// its nesting (so neither the parser's recursion, the evaluator's recursion nor the AST's
// destruction can run deep). Field paths (event.a.b.c...) and && / || chains are stored flat,
// so they do not count as nesting.
#include "blocks/pubsub/routing_rule.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace dapr::blocks::pubsub {

using Json = nlohmann::json;

namespace ast {

enum class Kind {
  kLiteral,     // literal
  kList,        // [operands...] with at least one non-literal element
  kPath,        // base (null: `event`), then steps
  kNot,         // !operands[0]
  kAnd,         // operands[0] && operands[1] && ...
  kOr,          // operands[0] || operands[1] || ...
  kCompare,     // operands[0] <op> operands[1]
  kIn,          // operands[0] in operands[1]
  kHas,         // has(operands[0]), a kPath whose last step is a field
  kSize,        // size(operands[0]) or operands[0].size()
  kStartsWith,  // operands[0].startsWith(operands[1])
  kEndsWith,    // operands[0].endsWith(operands[1])
  kContains,    // operands[0].contains(operands[1])
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };  // OpText() relies on this order

}  // namespace ast

struct RoutingRule::Node {
  // One `.field` or `[index]` of a path.
  struct Step {
    std::string field;            // a `.field` step
    std::unique_ptr<Node> index;  // an `[index]` step (field is then unused)
    int column = 0;
    std::string shown;  // the path as written up to and including this step, for messages
  };

  ast::Kind kind = ast::Kind::kLiteral;
  int column = 1;  // 1-based byte column of the operator, or of the first token of a leaf
  int height = 1;  // levels of nesting below and including this node
  Json literal;
  ast::CompareOp op = ast::CompareOp::kEq;
  std::vector<std::unique_ptr<Node>> operands;
  std::unique_ptr<Node> base;  // kPath: what the steps start from; null means `event`
  std::string base_shown;      // kPath: the base as written
  std::vector<Step> steps;     // kPath
};

namespace {

using Node = RoutingRule::Node;
using NodePtr = std::unique_ptr<Node>;
using ast::CompareOp;
using ast::Kind;

constexpr std::size_t kMaxExpressionLength = 4096;
// Nesting of the expression (parentheses, !, calls, lists, chained comparisons).
constexpr int kMaxDepth = 64;
// Nesting of JSON values that == and `in` compare element by element.
constexpr int kMaxValueDepth = 64;

std::string At(int column) { return " at column " + std::to_string(column); }

// The head of every message: which rule, so the log line makes sense on its own.
std::string MatchPrefix(std::string_view expression) {
  constexpr std::size_t kShown = 80;
  std::string shown(expression.substr(0, kShown));
  if (expression.size() > kShown) shown += "...";
  return "match \"" + shown + "\": ";
}

// ---------------------------------------------------------------------------------------------
// Lexer

enum class TokenKind { kEnd, kIdent, kInt, kDouble, kString, kPunct };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // as written
  int column = 1;
  Json value;                   // kDouble, kString: the decoded value
  std::uint64_t magnitude = 0;  // kInt: the digits' value; the sign comes from the parser
  bool uint_suffix = false;     // kInt: written as 12u
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

void AppendUtf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      if (pos_ == src_.size()) {
        tokens.push_back(Token{TokenKind::kEnd, {}, Column(pos_), {}, 0, false});
        return tokens;
      }
      auto token = Next();
      if (!token.ok()) return token.take_error();
      tokens.push_back(std::move(token).value());
    }
  }

 private:
  int Column(std::size_t at) const { return int(at) + 1; }
  Status Error(std::size_t at, const std::string& what) const {
    return InvalidArgument(what + At(Column(at)));
  }
  char CharAt(std::size_t at) const { return at < src_.size() ? src_[at] : '\0'; }

  void SkipSpaceAndComments() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '/' && CharAt(pos_ + 1) == '/') {  // CEL's line comment
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  Token Make(TokenKind kind, std::size_t start) const {
    return Token{kind, src_.substr(start, pos_ - start), Column(start), {}, 0, false};
  }

  Result<Token> Next() {
    const std::size_t start = pos_;
    const char c = src_[pos_];
    if (IsIdentStart(c)) {
      while (pos_ < src_.size() && IsIdentChar(src_[pos_])) ++pos_;
      return Make(TokenKind::kIdent, start);
    }
    if (IsDigit(c)) return Number();
    if (c == '"' || c == '\'') return String();
    static constexpr std::string_view kTwoChar[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (std::string_view op : kTwoChar) {
      if (src_.substr(pos_, 2) == op) {
        pos_ += 2;
        return Make(TokenKind::kPunct, start);
      }
    }
    // Some of these are only lexed so that the parser can say why they are refused.
    if (std::string_view("<>!()[]{}.,=&|+-*/%?:").find(c) != std::string_view::npos) {
      ++pos_;
      return Make(TokenKind::kPunct, start);
    }
    if (c >= 0x21 && c <= 0x7E) {
      return Error(start, std::string("unexpected character '") + c + "'");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    return Error(start, std::string("unexpected byte 0x") + kHex[byte >> 4] + kHex[byte & 0xF]);
  }

  Result<Token> Number() {
    const std::size_t start = pos_;
    if (src_[pos_] == '0' && (CharAt(pos_ + 1) == 'x' || CharAt(pos_ + 1) == 'X') &&
        IsHexDigit(CharAt(pos_ + 2))) {
      pos_ += 2;
      const std::size_t digits = pos_;
      while (IsHexDigit(CharAt(pos_))) ++pos_;
      return Integer(start, digits, 16);
    }
    while (IsDigit(CharAt(pos_))) ++pos_;
    bool is_double = false;
    if (CharAt(pos_) == '.' && IsDigit(CharAt(pos_ + 1))) {
      is_double = true;
      ++pos_;
      while (IsDigit(CharAt(pos_))) ++pos_;
    }
    const char e = CharAt(pos_);
    if (e == 'e' || e == 'E') {
      std::size_t exp = pos_ + 1;
      if (CharAt(exp) == '+' || CharAt(exp) == '-') ++exp;
      if (IsDigit(CharAt(exp))) {
        is_double = true;
        pos_ = exp;
        while (IsDigit(CharAt(pos_))) ++pos_;
      }
    }
    if (!is_double) return Integer(start, start, 10);
    double value = 0;
    const char* first = src_.data() + start;
    const char* last = src_.data() + pos_;
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last || !std::isfinite(value)) {
      return Error(start, "number " + std::string(first, last) + " is out of range");
    }
    Token token = Make(TokenKind::kDouble, start);
    token.value = value;
    return token;
  }

  // The digits are [digits, pos_); a `u` suffix may follow.
  Result<Token> Integer(std::size_t start, std::size_t digits, int base) {
    std::uint64_t magnitude = 0;
    const char* first = src_.data() + digits;
    const char* last = src_.data() + pos_;
    auto [end, ec] = std::from_chars(first, last, magnitude, base);
    if (ec != std::errc() || end != last) {
      return Error(start, "integer " + std::string(src_.substr(start, pos_ - start)) +
                              " does not fit in 64 bits");
    }
    bool uint_suffix = false;
    if (CharAt(pos_) == 'u' || CharAt(pos_) == 'U') {
      uint_suffix = true;
      ++pos_;
    }
    Token token = Make(TokenKind::kInt, start);
    token.magnitude = magnitude;
    token.uint_suffix = uint_suffix;
    return token;
  }

  Result<Token> String() {
    const std::size_t start = pos_;
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size() || src_[pos_] == '\n' || src_[pos_] == '\r') {
        return Error(start, "unterminated string");
      }
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value += c;
        ++pos_;
        continue;
      }
      Status escaped = Escape(value);
      if (!escaped.ok()) return escaped;
    }
    Token token = Make(TokenKind::kString, start);
    token.value = std::move(value);
    return token;
  }

  // pos_ is at a backslash inside a string; appends what the escape stands for.
  Status Escape(std::string& out) {
    static constexpr std::pair<char, char> kSingle[] = {
        {'"', '"'},  {'\'', '\''}, {'`', '`'},  {'?', '?'},  {'\\', '\\'}, {'a', '\a'},
        {'b', '\b'}, {'f', '\f'},  {'n', '\n'}, {'r', '\r'}, {'t', '\t'},  {'v', '\v'}};
    const std::size_t at = pos_;
    const char c = CharAt(pos_ + 1);
    pos_ += 2;
    for (const auto& [written, meant] : kSingle) {
      if (c == written) {
        out += meant;
        return Status::Ok();
      }
    }
    if (c == 'x' || c == 'X') return CodePoint(at, 2, 16, out);
    if (c == 'u') return CodePoint(at, 4, 16, out);
    if (c == 'U') return CodePoint(at, 8, 16, out);
    if (c >= '0' && c <= '3') {
      --pos_;  // the first octal digit is part of the value
      return CodePoint(at, 3, 8, out);
    }
    if (c == '\0' && at + 1 >= src_.size()) return Error(at, "unterminated string");
    return Error(at, std::string("unknown escape sequence '\\") + c + "'");
  }

  // Reads exactly `digits` digits in `base` from pos_ and appends that code point as UTF-8.
  Status CodePoint(std::size_t at, int digits, int base, std::string& out) {
    const std::size_t available = std::min(src_.size() - pos_, std::size_t(digits));
    std::uint32_t cp = 0;
    const char* first = src_.data() + pos_;
    auto [end, ec] = std::from_chars(first, first + available, cp, base);
    if (ec != std::errc() || end != first + digits) {
      return Error(at, "escape sequence needs " + std::to_string(digits) +
                           (base == 16 ? " hex" : " octal") + " digits");
    }
    pos_ += std::size_t(digits);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Error(at, "escape sequence is not a valid code point");
    }
    AppendUtf8(cp, out);
    return Status::Ok();
  }

  std::string_view src_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parser

bool IsPunct(const Token& token, std::string_view text) {
  return token.kind == TokenKind::kPunct && token.text == text;
}
bool IsIdent(const Token& token, std::string_view text) {
  return token.kind == TokenKind::kIdent && token.text == text;
}

// Why a token that is refused is refused, when the likely intent is clear.
std::string Hint(const Token& token) {
  static constexpr std::pair<std::string_view, std::string_view> kHints[] = {
      {"=", " (use ==)"},
      {"&", " (use &&)"},
      {"|", " (use ||)"},
      {"and", " (use &&)"},
      {"or", " (use ||)"},
      {"not", " (use !)"},
      {"+", " (arithmetic is not supported)"},
      {"-", " (arithmetic is not supported)"},
      {"*", " (arithmetic is not supported)"},
      {"/", " (arithmetic is not supported)"},
      {"%", " (arithmetic is not supported)"},
      {"?", " (the ?: conditional is not supported)"},
      {":", " (the ?: conditional is not supported)"},
      {"{", " (map literals are not supported)"},
      {"}", " (map literals are not supported)"},
  };
  if (token.kind != TokenKind::kPunct && token.kind != TokenKind::kIdent) return "";
  for (const auto& [text, hint] : kHints) {
    if (token.text == text) return std::string(hint);
  }
  return "";
}

std::string Describe(const Token& token) {
  if (token.kind == TokenKind::kEnd) return "the end of the expression";
  constexpr std::size_t kShown = 24;
  std::string shown(token.text.substr(0, kShown));
  if (token.text.size() > kShown) shown += "...";
  return "'" + shown + "'";
}

bool IsMacro(std::string_view name) {
  return name == "all" || name == "exists" || name == "exists_one" || name == "map" ||
         name == "filter";
}

constexpr std::string_view kSupportedFunctions =
    " (supported: has(x), size(x), x.size(), s.startsWith(t), s.endsWith(t), s.contains(t))";

int HeightOf(const Node& node) {
  int below = 0;
  for (const auto& operand : node.operands) below = std::max(below, operand->height);
  if (node.base) below = std::max(below, node.base->height);
  for (const auto& step : node.steps) {
    if (step.index) below = std::max(below, step.index->height);
  }
  return below + 1;
}

NodePtr MakeNode(Kind kind, int column) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->column = column;
  return node;
}

NodePtr MakeLiteral(Json value, int column) {
  NodePtr node = MakeNode(Kind::kLiteral, column);
  node->literal = std::move(value);
  return node;
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> tokens) : src_(src), tokens_(std::move(tokens)) {}

  Result<NodePtr> ParseAll() {
    if (Peek().kind == TokenKind::kEnd) return InvalidArgument("the expression is empty");
    auto root = Expr();
    if (!root.ok()) return root;
    if (Peek().kind != TokenKind::kEnd) return Unexpected(Peek());
    return root;
  }

 private:
  // Counts one level of recursion for as long as it lives.
  class Nesting {
   public:
    explicit Nesting(int& depth) : depth_(depth) { ++depth_; }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    bool too_deep() const { return depth_ > kMaxDepth; }

   private:
    int& depth_;
  };

  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() {
    const Token& token = tokens_[next_];
    if (token.kind != TokenKind::kEnd) ++next_;
    return token;
  }
  bool Accept(std::string_view punct) {
    if (!IsPunct(Peek(), punct)) return false;
    Take();
    return true;
  }

  static Status TooDeep(int column) {
    return InvalidArgument("the expression is nested more than " + std::to_string(kMaxDepth) +
                           " levels deep" + At(column));
  }
  static Status Unexpected(const Token& token) {
    if (token.kind == TokenKind::kEnd) {
      return InvalidArgument("unexpected end of expression" + At(token.column));
    }
    return InvalidArgument("unexpected " + Describe(token) + At(token.column) + Hint(token));
  }
  Status Expect(std::string_view punct) {
    if (Accept(punct)) return Status::Ok();
    const Token& found = Peek();
    return InvalidArgument("expected '" + std::string(punct) + "' but found " + Describe(found) +
                           At(found.column) + Hint(found));
  }
  // Sets the node's height once its children are in place, refusing too much nesting.
  static Result<NodePtr> Finish(NodePtr node) {
    node->height = HeightOf(*node);
    if (node->height > kMaxDepth) return TooDeep(node->column);
    return node;
  }
  // The source from byte `begin` up to the end of the token before the next one.
  std::string SourceUpTo(std::size_t begin, const Token& last) const {
    const std::size_t end = std::size_t(last.column - 1) + last.text.size();
    return std::string(src_.substr(begin, end - begin));
  }

  Result<NodePtr> Expr() {
    Nesting nesting(depth_);
    if (nesting.too_deep()) return TooDeep(Peek().column);
    auto node = Or();
    if (!node.ok()) return node;
    if (IsPunct(Peek(), "?")) return Unexpected(Peek());
    return node;
  }

  // a || b || c, kept flat.
  Result<NodePtr> Or() { return Junction(Kind::kOr, "||", &Parser::And); }
  Result<NodePtr> And() { return Junction(Kind::kAnd, "&&", &Parser::Relation); }

  Result<NodePtr> Junction(Kind kind, std::string_view op, Result<NodePtr> (Parser::*operand)()) {
    auto first = (this->*operand)();
    if (!first.ok() || !IsPunct(Peek(), op)) return first;
    NodePtr node = MakeNode(kind, Peek().column);
    node->operands.push_back(std::move(first).value());
    while (Accept(op)) {
      auto next = (this->*operand)();
      if (!next.ok()) return next;
      node->operands.push_back(std::move(next).value());
    }
    return Finish(std::move(node));
  }

  static std::optional<CompareOp> ComparisonNamed(const Token& token) {
    static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
        {"==", CompareOp::kEq}, {"!=", CompareOp::kNe}, {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe}, {">", CompareOp::kGt},  {">=", CompareOp::kGe}};
    if (token.kind != TokenKind::kPunct) return std::nullopt;
    for (const auto& [text, op] : kOps) {
      if (token.text == text) return op;
    }
    return std::nullopt;
  }

  // Comparisons and `in` share one level and associate to the left, as in CEL.
  Result<NodePtr> Relation() {
    auto left = Operand();
    while (left.ok()) {
      const Token& op_token = Peek();
      std::optional<CompareOp> op = ComparisonNamed(op_token);
      const bool is_in = IsIdent(op_token, "in");
      if (!op && !is_in) break;
      Take();
      auto right = Operand();
      if (!right.ok()) return right;
      NodePtr node = MakeNode(is_in ? Kind::kIn : Kind::kCompare, op_token.column);
      if (op) node->op = *op;
      node->operands.push_back(std::move(left).value());
      node->operands.push_back(std::move(right).value());
      left = Finish(std::move(node));
    }
    return left;
  }

  // Where CEL has its arithmetic levels: an operand, and a clear refusal of any operator there.
  Result<NodePtr> Operand() {
    auto node = Unary();
    if (!node.ok()) return node;
    const Token& next = Peek();
    for (std::string_view arithmetic : {"+", "-", "*", "/", "%"}) {
      if (IsPunct(next, arithmetic)) return Unexpected(next);
    }
    return node;
  }

  Result<NodePtr> Unary() {
    const Token& token = Peek();
    if (IsPunct(token, "!")) {
      Take();
      Nesting nesting(depth_);
      if (nesting.too_deep()) return TooDeep(token.column);
      auto operand = Unary();
      if (!operand.ok()) return operand;
      NodePtr node = MakeNode(Kind::kNot, token.column);
      node->operands.push_back(std::move(operand).value());
      return Finish(std::move(node));
    }
    if (IsPunct(token, "-")) {
      // Only as the sign of a number literal: anything else would be arithmetic.
      Take();
      const Token& number = Peek();
      if (number.kind == TokenKind::kInt) return IntLiteral(Take(), true, token.column);
      if (number.kind == TokenKind::kDouble) {
        return MakeLiteral(-Take().value.get<double>(), token.column);
      }
      return Unexpected(token);
    }
    return Postfix();
  }

  static Result<NodePtr> IntLiteral(const Token& token, bool negative, int column) {
    constexpr auto kMaxInt = std::uint64_t(std::numeric_limits<std::int64_t>::max());
    if (token.uint_suffix) {
      if (negative) return InvalidArgument("an unsigned integer cannot be negative" + At(column));
      return MakeLiteral(token.magnitude, column);
    }
    if (negative) {
      if (token.magnitude > kMaxInt + 1) {
        return InvalidArgument("integer -" + std::string(token.text) + " is out of range" +
                               At(column));
      }
      // -(2^63) has no positive counterpart, so negate in the unsigned domain.
      return MakeLiteral(std::int64_t(~token.magnitude + 1), column);
    }
    if (token.magnitude > kMaxInt) {
      return InvalidArgument("integer " + std::string(token.text) + " is out of range" +
                             At(column));
    }
    return MakeLiteral(std::int64_t(token.magnitude), column);
  }

  // A primary followed by any number of .field, [index] and .method(args).
  Result<NodePtr> Postfix() {
    const int start_column = Peek().column;
    auto primary = Primary();
    if (!primary.ok()) return primary;
    NodePtr node = std::move(primary).value();
    while (true) {
      const Token& last = tokens_[next_ - 1];  // the end of what `node` was parsed from
      const Token& open = Peek();
      if (Accept(".")) {
        const Token& name = Take();
        if (name.kind != TokenKind::kIdent) {
          return InvalidArgument("expected a field name after '.' but found " + Describe(name) +
                                 At(name.column));
        }
        if (IsPunct(Peek(), "(")) {
          auto receiver = Finish(std::move(node));
          if (!receiver.ok()) return receiver;
          auto call = Method(std::move(receiver).value(), name);
          if (!call.ok()) return call;
          node = std::move(call).value();
          continue;
        }
        auto path = AsPath(std::move(node), start_column, last);
        if (!path.ok()) return path;
        node = std::move(path).value();
        node->steps.push_back({std::string(name.text), nullptr, name.column,
                               SourceUpTo(std::size_t(start_column - 1), name)});
      } else if (Accept("[")) {
        auto index = Expr();
        if (!index.ok()) return index;
        const Token& close = Peek();
        Status closed = Expect("]");
        if (!closed.ok()) return closed;
        auto path = AsPath(std::move(node), start_column, last);
        if (!path.ok()) return path;
        node = std::move(path).value();
        node->steps.push_back({"", std::move(index).value(), open.column,
                               SourceUpTo(std::size_t(start_column - 1), close)});
      } else {
        return Finish(std::move(node));
      }
    }
  }

  // Steps are appended to a path in place; anything else becomes the base of a new path.
  Result<NodePtr> AsPath(NodePtr node, int start_column, const Token& last) {
    if (node->kind == Kind::kPath) return node;
    NodePtr path = MakeNode(Kind::kPath, start_column);
    path->base_shown = SourceUpTo(std::size_t(start_column - 1), last);
    auto base = Finish(std::move(node));
    if (!base.ok()) return base;
    path->base = std::move(base).value();
    return path;
  }

  Result<NodePtr> Primary() {
    const Token& token = Take();
    switch (token.kind) {
      case TokenKind::kInt:
        return IntLiteral(token, false, token.column);
      case TokenKind::kDouble:
      case TokenKind::kString:
        return MakeLiteral(token.value, token.column);
      case TokenKind::kIdent:
        return Identifier(token);
      case TokenKind::kPunct:
        if (token.text == "(") {
          auto inner = Expr();
          if (!inner.ok()) return inner;
          Status closed = Expect(")");
          if (!closed.ok()) return closed;
          return inner;
        }
        if (token.text == "[") return List(token);
        return Unexpected(token);
      case TokenKind::kEnd:
        break;
    }
    return Unexpected(token);
  }

  Result<NodePtr> Identifier(const Token& token) {
    if (IsPunct(Peek(), "(")) return Function(token);
    if (token.text == "event") {
      NodePtr path = MakeNode(Kind::kPath, token.column);
      path->base_shown = "event";
      return path;
    }
    if (token.text == "true") return MakeLiteral(true, token.column);
    if (token.text == "false") return MakeLiteral(false, token.column);
    if (token.text == "null") return MakeLiteral(nullptr, token.column);
    if (token.text == "in") return Unexpected(token);
    std::string hint = Hint(token);
    if (hint.empty()) hint = " (the only variable is 'event')";
    return InvalidArgument("unknown identifier " + Describe(token) + At(token.column) + hint);
  }

  // [a, b, c], with an optional trailing comma as CEL allows. All-literal lists become one
  // literal, so that `x in ["a", "b"]` builds nothing per event.
  Result<NodePtr> List(const Token& open) {
    NodePtr node = MakeNode(Kind::kList, open.column);
    bool all_literal = true;
    while (!Accept("]")) {
      auto element = Expr();
      if (!element.ok()) return element;
      all_literal = all_literal && element.value()->kind == Kind::kLiteral;
      node->operands.push_back(std::move(element).value());
      if (Accept(",")) continue;
      Status closed = Expect("]");
      if (!closed.ok()) return closed;
      break;
    }
    if (!all_literal) return Finish(std::move(node));
    Json values = Json::array();
    for (auto& element : node->operands) values.push_back(std::move(element->literal));
    return MakeLiteral(std::move(values), open.column);
  }

  // After the '(' of a call, up to and including the ')'.
  Result<std::vector<NodePtr>> Arguments() {
    Take();  // (
    std::vector<NodePtr> arguments;
    if (Accept(")")) return arguments;
    while (true) {
      auto argument = Expr();
      if (!argument.ok()) return argument.take_error();
      arguments.push_back(std::move(argument).value());
      if (Accept(",")) continue;
      Status closed = Expect(")");
      if (!closed.ok()) return closed;
      return arguments;
    }
  }

  static Status ArgumentCount(const Token& name, std::size_t expected, std::size_t got) {
    return InvalidArgument(std::string(name.text) + "() takes " + std::to_string(expected) +
                           (expected == 1 ? " argument" : " arguments") + ", not " +
                           std::to_string(got) + At(name.column));
  }

  static Status UnknownFunction(const Token& name) {
    if (IsMacro(name.text)) {
      return InvalidArgument("the macro " + std::string(name.text) + "() is not supported" +
                             At(name.column));
    }
    return InvalidArgument("unknown function " + std::string(name.text) + "()" + At(name.column) +
                           std::string(kSupportedFunctions));
  }

  // has(x) and size(x).
  Result<NodePtr> Function(const Token& name) {
    const bool is_has = name.text == "has";
    if (!is_has && name.text != "size") return UnknownFunction(name);
    auto arguments = Arguments();
    if (!arguments.ok()) return arguments.take_error();
    std::vector<NodePtr> args = std::move(arguments).value();
    if (args.size() != 1) return ArgumentCount(name, 1, args.size());
    if (is_has) {
      // has() tests a field's presence, so it only makes sense on a field selection.
      const Node& arg = *args[0];
      if (arg.kind != Kind::kPath || arg.steps.empty() || arg.steps.back().index) {
        return InvalidArgument("has() at column " + std::to_string(name.column) +
                               " needs a field selection, such as has(event.data.field)");
      }
    }
    NodePtr node = MakeNode(is_has ? Kind::kHas : Kind::kSize, name.column);
    node->operands = std::move(args);
    return Finish(std::move(node));
  }

  // receiver.size(), receiver.startsWith(s), receiver.endsWith(s), receiver.contains(s).
  Result<NodePtr> Method(NodePtr receiver, const Token& name) {
    Kind kind = Kind::kSize;
    std::size_t expected = 0;
    if (name.text == "startsWith") {
      kind = Kind::kStartsWith;
      expected = 1;
    } else if (name.text == "endsWith") {
      kind = Kind::kEndsWith;
      expected = 1;
    } else if (name.text == "contains") {
      kind = Kind::kContains;
      expected = 1;
    } else if (name.text != "size") {
      return UnknownFunction(name);
    }
    auto arguments = Arguments();
    if (!arguments.ok()) return arguments.take_error();
    std::vector<NodePtr> args = std::move(arguments).value();
    if (args.size() != expected) return ArgumentCount(name, expected, args.size());
    NodePtr node = MakeNode(kind, name.column);
    node->operands.push_back(std::move(receiver));
    for (auto& arg : args) node->operands.push_back(std::move(arg));
    return Finish(std::move(node));
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Evaluator

// A value met while evaluating: borrowed from the event or the AST when it can be, owned when
// it was computed (a bool, a size, a list built from fields).
class Value {
 public:
  static Value Borrowed(const Json& json) {
    Value value;
    value.borrowed_ = &json;
    return value;
  }
  static Value Owned(Json json) {
    Value value;
    value.owned_ = std::move(json);
    return value;
  }

  const Json& get() const { return borrowed_ != nullptr ? *borrowed_ : owned_; }
  // A part of this value, borrowed while this one is borrowed and copied otherwise.
  Value Part(const Json& part) const { return borrowed_ != nullptr ? Borrowed(part) : Owned(part); }

 private:
  const Json* borrowed_ = nullptr;
  Json owned_;
};

const char* KindName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "double";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "map";
    default:
      return "unsupported value";
  }
}

std::string_view OpText(CompareOp op) {
  static constexpr std::string_view kTexts[] = {"==", "!=", "<", "<=", ">", ">="};
  return kTexts[static_cast<int>(op)];
}

enum class Order { kLess, kEqual, kGreater, kUnordered };

template <class T>
Order OrderOf(T a, T b) {
  if (a < b) return Order::kLess;
  if (b < a) return Order::kGreater;
  if (a == b) return Order::kEqual;
  return Order::kUnordered;  // NaN
}

// Integers (signed or unsigned) compare exactly; anything with a double compares as doubles.
Order CompareNumbers(const Json& a, const Json& b) {
  if (!a.is_number_integer() || !b.is_number_integer()) {
    return OrderOf(a.get<double>(), b.get<double>());
  }
  const bool a_unsigned = a.is_number_unsigned();
  const bool b_unsigned = b.is_number_unsigned();
  if (a_unsigned && b_unsigned) return OrderOf(a.get<std::uint64_t>(), b.get<std::uint64_t>());
  if (!a_unsigned && !b_unsigned) return OrderOf(a.get<std::int64_t>(), b.get<std::int64_t>());
  if (a_unsigned) {
    const std::int64_t bs = b.get<std::int64_t>();
    return bs < 0 ? Order::kGreater : OrderOf(a.get<std::uint64_t>(), std::uint64_t(bs));
  }
  const std::int64_t as = a.get<std::int64_t>();
  return as < 0 ? Order::kLess : OrderOf(std::uint64_t(as), b.get<std::uint64_t>());
}

// ==: numbers by value, lists and maps element by element, different kinds never equal.
// nullopt when the values are nested too deep to compare.
std::optional<bool> Equal(const Json& a, const Json& b, int depth = 0) {
  if (depth > kMaxValueDepth) return std::nullopt;
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b) == Order::kEqual;
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      std::optional<bool> equal = Equal(a[i], b[i], depth + 1);
      if (!equal || !*equal) return equal;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end()) return false;
      std::optional<bool> equal = Equal(it.value(), *other, depth + 1);
      if (!equal || !*equal) return equal;
    }
    return true;
  }
  return a == b;  // null, bool, string
}

// CEL's size() of a string counts code points, not bytes.
std::int64_t CodePoints(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

Status EvalError(const std::string& what, int column) { return InvalidArgument(what + At(column)); }

Status TooDeepToCompare(int column) {
  return EvalError(
      "values are nested more than " + std::to_string(kMaxValueDepth) + " levels deep to compare",
      column);
}

class Evaluator {
 public:
  explicit Evaluator(const Json& event) : event_(event) {}

  Result<Value> Eval(const Node& node) const {
    switch (node.kind) {
      case Kind::kLiteral:
        return Value::Borrowed(node.literal);
      case Kind::kList:
        return List(node);
      case Kind::kPath:
        return Path(node);
      case Kind::kNot:
        return Not(node);
      case Kind::kAnd:
        return Junction(node, false);
      case Kind::kOr:
        return Junction(node, true);
      case Kind::kCompare:
        return Compare(node);
      case Kind::kIn:
        return In(node);
      case Kind::kHas:
        return Has(node);
      case Kind::kSize:
        return Size(node);
      case Kind::kStartsWith:
      case Kind::kEndsWith:
      case Kind::kContains:
        return StringTest(node);
    }
    return Internal("unknown expression node");
  }

 private:
  static Value Bool(bool b) { return Value::Owned(b); }

  Result<Value> List(const Node& node) const {
    Json list = Json::array();
    for (const auto& element : node.operands) {
      auto value = Eval(*element);
      if (!value.ok()) return value;
      list.push_back(value->get());
    }
    return Value::Owned(std::move(list));
  }

  Result<Value> Path(const Node& path) const {
    auto value = Walk(path, path.steps.size(), false);
    if (!value.ok()) return value.take_error();
    return std::move(*value.value());
  }

  // Follows the first `count` steps of a path. Where a step finds nothing (a missing field or
  // key, an index out of range, something that is not a map or list), that is an error, or
  // with `lenient` (for has()) an empty result.
  Result<std::optional<Value>> Walk(const Node& path, std::size_t count, bool lenient) const {
    Value current = Value::Borrowed(event_);
    if (path.base) {
      auto base = Eval(*path.base);
      if (!base.ok()) return base.take_error();
      current = std::move(base).value();
    }
    for (std::size_t i = 0; i < count; ++i) {
      const Node::Step& step = path.steps[i];
      const std::string& parent = i == 0 ? path.base_shown : path.steps[i - 1].shown;
      std::optional<Value> key;
      if (step.index) {
        auto evaluated = Eval(*step.index);
        if (!evaluated.ok()) return evaluated.take_error();
        key = std::move(evaluated).value();
      }
      std::string missing;
      const Json* next = step.index ? Element(current.get(), key->get(), parent, step, missing)
                                    : Field(current.get(), parent, step, missing);
      if (next == nullptr) {
        if (lenient) return std::optional<Value>();
        return EvalError(missing, step.column);
      }
      current = current.Part(*next);
    }
    return std::optional<Value>(std::move(current));
  }

  static const Json* Field(const Json& from, const std::string& parent, const Node::Step& step,
                           std::string& missing) {
    if (!from.is_object()) {
      missing =
          "cannot select field '" + step.field + "' from " + parent + ", a " + KindName(from) + ",";
      return nullptr;
    }
    auto it = from.find(step.field);
    if (it == from.end()) {
      missing = "no such field '" + step.field + "' in " + parent;
      return nullptr;
    }
    return &*it;
  }

  static const Json* Element(const Json& from, const Json& key, const std::string& parent,
                             const Node::Step& step, std::string& missing) {
    if (from.is_object()) {
      if (!key.is_string()) {
        missing = std::string("a map key must be a string, not ") + KindName(key) + ",";
        return nullptr;
      }
      auto it = from.find(key.get<std::string>());
      if (it == from.end()) {
        missing = "no such key " + key.dump() + " in " + parent;
        return nullptr;
      }
      return &*it;
    }
    if (from.is_array()) {
      std::optional<std::int64_t> index = AsIndex(key);
      if (!index) {
        missing = std::string("a list index must be an int, not ") + KindName(key) + ",";
        return nullptr;
      }
      if (*index < 0 || std::uint64_t(*index) >= from.size()) {
        missing = step.shown + " is out of range (" + parent + " has " +
                  std::to_string(from.size()) + " elements)";
        return nullptr;
      }
      return &from[std::size_t(*index)];
    }
    missing = "cannot index " + parent + ", a " + KindName(from) + ",";
    return nullptr;
  }

  // Integers, and doubles with an integral value (JSON decoders often produce those).
  static std::optional<std::int64_t> AsIndex(const Json& key) {
    if (key.is_number_unsigned()) {
      const auto u = key.get<std::uint64_t>();
      if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        return std::numeric_limits<std::int64_t>::max();
      return std::int64_t(u);
    }
    if (key.is_number_integer()) return key.get<std::int64_t>();
    if (key.is_number_float()) {
      const double d = key.get<double>();
      if (d == std::floor(d) && std::fabs(d) < 9.0e18) return std::int64_t(d);
    }
    return std::nullopt;
  }

  Result<Value> Has(const Node& node) const {
    const Node& path = *node.operands[0];
    auto parent = Walk(path, path.steps.size() - 1, true);
    if (!parent.ok()) return parent.take_error();
    if (!*parent) return Bool(false);
    const Json& container = (*parent)->get();
    return Bool(container.is_object() && container.contains(path.steps.back().field));
  }

  Result<Value> Not(const Node& node) const {
    auto operand = Eval(*node.operands[0]);
    if (!operand.ok()) return operand;
    if (!operand->get().is_boolean()) {
      return EvalError(std::string("'!' needs a bool, not ") + KindName(operand->get()),
                       node.column);
    }
    return Bool(!operand->get().get<bool>());
  }

  // CEL's && and ||: one `decisive` operand (false for &&, true for ||) decides the result
  // even when another operand is an error, in whichever order they come; otherwise the first
  // error is the result.
  Result<Value> Junction(const Node& node, bool decisive) const {
    Status first_error;
    for (const auto& operand : node.operands) {
      auto value = Eval(*operand);
      if (value.ok() && value->get().is_boolean()) {
        if (value->get().get<bool>() == decisive) return Bool(decisive);
        continue;
      }
      if (!first_error.ok()) continue;
      first_error = value.ok()
                        ? EvalError(std::string("'") + (decisive ? "||" : "&&") +
                                        "' needs bool operands, not " + KindName(value->get()),
                                    node.column)
                        : value.take_error();
    }
    if (!first_error.ok()) return first_error;
    return Bool(!decisive);
  }

  Result<Value> Compare(const Node& node) const {
    auto left = Eval(*node.operands[0]);
    if (!left.ok()) return left;
    auto right = Eval(*node.operands[1]);
    if (!right.ok()) return right;
    const Json& a = left->get();
    const Json& b = right->get();
    if (node.op == CompareOp::kEq || node.op == CompareOp::kNe) {
      std::optional<bool> equal = Equal(a, b);
      if (!equal) return TooDeepToCompare(node.column);
      return Bool(*equal == (node.op == CompareOp::kEq));
    }
    Order order = Order::kUnordered;
    if (a.is_number() && b.is_number()) {
      order = CompareNumbers(a, b);
    } else if (a.is_string() && b.is_string()) {
      order = OrderOf(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
    } else {
      return EvalError("cannot compare " + std::string(KindName(a)) + " with " + KindName(b) +
                           " using '" + std::string(OpText(node.op)) + "'",
                       node.column);
    }
    switch (node.op) {
      case CompareOp::kLt:
        return Bool(order == Order::kLess);
      case CompareOp::kLe:
        return Bool(order == Order::kLess || order == Order::kEqual);
      case CompareOp::kGt:
        return Bool(order == Order::kGreater);
      case CompareOp::kGe:
        return Bool(order == Order::kGreater || order == Order::kEqual);
      default:
        return Internal("unexpected comparison");
    }
  }

  Result<Value> In(const Node& node) const {
    auto left = Eval(*node.operands[0]);
    if (!left.ok()) return left;
    auto right = Eval(*node.operands[1]);
    if (!right.ok()) return right;
    const Json& needle = left->get();
    const Json& haystack = right->get();
    if (haystack.is_array()) {
      for (const Json& element : haystack) {
        std::optional<bool> equal = Equal(needle, element);
        if (!equal) return TooDeepToCompare(node.column);
        if (*equal) return Bool(true);
      }
      return Bool(false);
    }
    if (haystack.is_object()) {
      if (!needle.is_string()) {
        return EvalError(std::string("'in' on a map needs a string key, not ") + KindName(needle),
                         node.column);
      }
      return Bool(haystack.contains(needle.get_ref<const std::string&>()));
    }
    return EvalError(
        std::string("'in' needs a list or a map on its right, not ") + KindName(haystack),
        node.column);
  }

  Result<Value> Size(const Node& node) const {
    auto operand = Eval(*node.operands[0]);
    if (!operand.ok()) return operand;
    const Json& value = operand->get();
    if (value.is_string()) return Value::Owned(CodePoints(value.get_ref<const std::string&>()));
    if (value.is_array() || value.is_object()) {
      return Value::Owned(std::int64_t(value.size()));
    }
    return EvalError(std::string("size() needs a string, list or map, not ") + KindName(value),
                     node.column);
  }

  Result<Value> StringTest(const Node& node) const {
    const char* name = node.kind == Kind::kStartsWith ? "startsWith()"
                       : node.kind == Kind::kEndsWith ? "endsWith()"
                                                      : "contains()";
    auto receiver = Eval(*node.operands[0]);
    if (!receiver.ok()) return receiver;
    auto argument = Eval(*node.operands[1]);
    if (!argument.ok()) return argument;
    if (!receiver->get().is_string()) {
      return EvalError(
          std::string(name) + " is called on a " + KindName(receiver->get()) + ", not a string,",
          node.column);
    }
    if (!argument->get().is_string()) {
      return EvalError(
          std::string(name) + " needs a string argument, not " + KindName(argument->get()) + ",",
          node.column);
    }
    const std::string& s = receiver->get().get_ref<const std::string&>();
    const std::string& t = argument->get().get_ref<const std::string&>();
    switch (node.kind) {
      case Kind::kStartsWith:
        return Bool(s.starts_with(t));
      case Kind::kEndsWith:
        return Bool(s.ends_with(t));
      default:
        return Bool(s.find(t) != std::string::npos);
    }
  }

  const Json& event_;
};

}  // namespace

Result<RoutingRule> RoutingRule::Compile(std::string_view expression) {
  const std::string prefix = MatchPrefix(expression);
  if (expression.size() > kMaxExpressionLength) {
    return InvalidArgument(prefix + "the expression is longer than " +
                           std::to_string(kMaxExpressionLength) + " characters");
  }
  auto tokens = Lexer(expression).Run();
  if (!tokens.ok()) return InvalidArgument(prefix + tokens.error().message());
  auto root = Parser(expression, std::move(tokens).value()).ParseAll();
  if (!root.ok()) return InvalidArgument(prefix + root.error().message());
  return RoutingRule(std::string(expression), std::shared_ptr<const Node>(std::move(root).value()));
}

Result<bool> RoutingRule::Matches(const nlohmann::json& event) const {
  auto value = Evaluator(event).Eval(*root_);
  if (!value.ok()) return InvalidArgument(MatchPrefix(expression_) + value.error().message());
  const Json& result = value->get();
  if (!result.is_boolean()) {
    return InvalidArgument(MatchPrefix(expression_) + "the result is a " + KindName(result) +
                           ", not a bool");
  }
  return result.get<bool>();
}

}  // namespace dapr::blocks::pubsub
