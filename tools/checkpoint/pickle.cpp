#include "tools/checkpoint/pickle.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace fg::ckpt {
namespace {

using Kind = Value::Kind;
using MutValue = std::shared_ptr<Value>;

// Python refuses to parse longer decimal integers by default; it also bounds our O(n^2) parse.
constexpr size_t kMaxIntDigits = 4300;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::tensor: return "tensor";
    case Kind::object: return "object";
  }
  return "?";
}

bool is_container(Kind k) {
  return k == Kind::list || k == Kind::tuple || k == Kind::dict || k == Kind::object;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 'F': return "FLOAT";
    case 'G': return "BINFLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case 'u': return "SETITEMS";
    case ')': return "EMPTY_TUPLE";
    case ']': return "EMPTY_LIST";
    case '}': return "EMPTY_DICT";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string hex_byte(uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Little-endian two's complement as int64, when it fits.
std::optional<int64_t> int_from_le(const uint8_t* p, size_t n) {
  if (n == 0) return 0;
  size_t low = std::min<size_t>(n, 8);
  uint8_t ext = (p[low - 1] & 0x80) ? 0xff : 0;
  for (size_t k = 8; k < n; ++k) {
    if (p[k] != ext) return std::nullopt;
  }
  uint64_t v = 0;
  for (size_t k = 0; k < 8; ++k) v |= uint64_t(k < low ? p[k] : ext) << (8 * k);
  return int64_t(v);
}

// The minimal little-endian two's-complement bytes of a decimal literal, as pickle's LONG1
// would write them.
std::string le_from_decimal(const std::string& digits, bool negative) {
  std::string b;
  for (char c : digits) {
    unsigned carry = unsigned(c - '0');
    for (auto& byte : b) {
      unsigned v = uint8_t(byte) * 10u + carry;
      byte = char(v & 0xff);
      carry = v >> 8;
    }
    for (; carry; carry >>= 8) b.push_back(char(carry & 0xff));
  }
  b.push_back(0);  // room for the sign bit
  if (negative) {
    unsigned carry = 1;
    for (auto& byte : b) {
      unsigned v = (~uint8_t(byte) & 0xffu) + carry;
      byte = char(v & 0xff);
      carry = v >> 8;
    }
  }
  auto redundant = [&] {
    uint8_t last = uint8_t(b.back()), prev = uint8_t(b[b.size() - 2]);
    return (last == 0 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80));
  };
  while (b.size() > 1 && redundant()) b.pop_back();
  return b;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | cp >> 6);
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | cp >> 12);
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | cp >> 18);
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// Python 3 bytes pickled with protocol < 3 arrive as _codecs.encode(text, 'latin1'): the
// text's code points (all below 256, stored as UTF-8) are the bytes.
std::optional<std::string> latin1_from_utf8(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    uint8_t c = uint8_t(text[i]);
    if (c < 0x80) {
      out += char(c);
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < text.size() &&
               (uint8_t(text[i + 1]) & 0xc0) == 0x80) {
      out += char((c & 0x03) << 6 | (uint8_t(text[++i]) & 0x3f));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A dict key as text when Python would hash it by value (so a repeated key replaces the
// earlier entry); nullopt for keys we do not deduplicate (tuples, objects, ...).
std::optional<std::string> hash_key(const Value& k) {
  switch (k.kind) {
    case Kind::none: return std::string("n");
    case Kind::boolean: return "i" + std::to_string(int(k.b));
    case Kind::integer: return "i" + std::to_string(k.i);
    case Kind::real: {
      if (k.d != k.d) return std::nullopt;  // NaN equals nothing
      if (k.d >= -9.2e18 && k.d <= 9.2e18 && k.d == double(int64_t(k.d))) {
        return "i" + std::to_string(int64_t(k.d));
      }
      uint64_t bits;
      std::memcpy(&bits, &k.d, sizeof bits);
      return "r" + std::to_string(bits);
    }
    case Kind::string: return "s" + k.s;
    case Kind::bytes: return "b" + k.s;
    default: return std::nullopt;
  }
}

size_t child_count(const Value& v) { return v.items.size() + 2 * v.entries.size(); }

const Value* child(const Value& v, size_t i) {
  if (i < v.items.size()) return v.items[i].get();
  i -= v.items.size();
  const auto& e = v.entries[i / 2];
  return (i % 2 ? e.second : e.first).get();
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& name, const PersistentLoad& load)
      : data_(data), size_(size), name_(name), load_(load) {}
  ~Unpickler();
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  Unpickled run();

 private:
  [[noreturn]] void fail(const std::string& what) const;

  const uint8_t* take(uint64_t n);
  uint8_t u8() { return *take(1); }
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  uint64_t length32();  // a signed 4-byte length that must not be negative
  std::string text(uint64_t n);
  std::string line();

  MutValue make(Kind k);
  MutValue make_int(int64_t i);
  MutValue make_big_int(std::string le_bytes);
  MutValue make_text(Kind k, std::string s);
  MutValue parse_decimal(const std::string& literal);
  std::string decode_raw_unicode_escape(const std::string& in) const;

  void push(MutValue v);
  MutValue pop();
  MutValue& top();
  std::vector<MutValue> pop_mark();
  MutValue make_tuple(std::vector<MutValue> items);
  MutValue pop_tuple(size_t n);

  void memo_put(uint64_t key);
  void memo_get(uint64_t key);
  MutValue global(const std::string& module, const std::string& name);
  MutValue call(const Value& fn, const Value& args, int depth);
  MutValue rebuild_tensor(const std::string& fn, const Value& args);
  std::vector<int64_t> index_list(const Value& v, const char* what) const;
  int64_t index(const Value& v, const char* what) const;
  void set_item(Value& target, MutValue key, MutValue value);
  void append(Value& target, MutValue value);
  void build(Value& target, const MutValue& state);
  MutValue persistent(const Value& pid);
  void validate(const Value& root);

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  const PersistentLoad& load_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  size_t pushes_ = 0;

  std::vector<MutValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, MutValue> memo_;
  std::vector<MutValue> containers_;  // every container made, so teardown never recurses deeply
  std::unordered_set<const Value*> kept_;  // containers reachable from the result
  std::unordered_map<const Value*, StorageRef> storages_;
  std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> dict_index_;
  std::vector<TensorView> tensors_;
  std::unordered_set<const Tensor*> reachable_tensors_;
};

Unpickler::~Unpickler() {
  // Whatever the result does not hold is cut loose shallowly: a hostile pickle can build
  // chains (or cycles) far deeper than a recursive destructor survives.
  for (auto& c : containers_) {
    if (!kept_.count(c.get())) {
      c->items.clear();
      c->entries.clear();
    }
  }
}

void Unpickler::fail(const std::string& what) const {
  const char* op = opcode_name(op_);
  throw CheckpointError(name_ + ": " + what + " (at " + (op ? op : hex_byte(op_)) + ", byte " +
                        std::to_string(op_pos_) + ")");
}

const uint8_t* Unpickler::take(uint64_t n) {
  if (n > size_ - pos_) {
    fail("truncated: needs " + std::to_string(n) + (n == 1 ? " more byte, " : " more bytes, ") +
         std::to_string(size_ - pos_) + " left");
  }
  const uint8_t* p = data_ + pos_;
  pos_ += size_t(n);
  return p;
}

uint16_t Unpickler::u16() {
  const uint8_t* p = take(2);
  return uint16_t(p[0] | p[1] << 8);
}

uint32_t Unpickler::u32() {
  const uint8_t* p = take(4);
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint64_t Unpickler::u64() {
  uint64_t lo = u32();
  return lo | uint64_t(u32()) << 32;
}

uint64_t Unpickler::length32() {
  int32_t n = int32_t(u32());
  if (n < 0) fail("negative length " + std::to_string(n));
  return uint64_t(n);
}

std::string Unpickler::text(uint64_t n) {
  const uint8_t* p = take(n);
  return std::string(reinterpret_cast<const char*>(p), size_t(n));
}

std::string Unpickler::line() {
  const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (!nl) fail("truncated: no end of line");
  size_t n = size_t(static_cast<const uint8_t*>(nl) - (data_ + pos_));
  std::string s = text(n);
  ++pos_;
  return s;
}

MutValue Unpickler::make(Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  if (is_container(k)) containers_.push_back(v);
  return v;
}

MutValue Unpickler::make_int(int64_t i) {
  auto v = make(Kind::integer);
  v->i = i;
  return v;
}

MutValue Unpickler::make_text(Kind k, std::string s) {
  auto v = make(k);
  v->s = std::move(s);
  return v;
}

MutValue Unpickler::make_big_int(std::string le_bytes) {
  auto v = make_text(Kind::object, "builtins.int");
  v->items.push_back(make_text(Kind::bytes, std::move(le_bytes)));
  return v;
}

// The text integers of INT and LONG: optional sign, decimal digits.
MutValue Unpickler::parse_decimal(const std::string& literal) {
  size_t start = !literal.empty() && (literal[0] == '-' || literal[0] == '+');
  bool negative = start && literal[0] == '-';
  std::string digits = literal.substr(start);
  if (digits.empty() || digits.size() > kMaxIntDigits ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail("bad integer literal '" + literal.substr(0, 40) + "'");
  }
  int64_t v = 0;
  bool fits = true;
  for (char c : digits) {
    int d = c - '0';
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, negative ? -d : d, &v)) {
      fits = false;
      break;
    }
  }
  return fits ? make_int(v) : make_big_int(le_from_decimal(digits, negative));
}

// Python's raw-unicode-escape: bytes are code points, except \uXXXX and \UXXXXXXXX after an
// odd number of backslashes.
std::string Unpickler::decode_raw_unicode_escape(const std::string& in) const {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '\\') {
      append_utf8(out, uint8_t(in[i++]));
      continue;
    }
    size_t run = 0;
    for (; i < in.size() && in[i] == '\\'; ++i, ++run) out += '\\';
    if (run % 2 == 0 || i >= in.size() || (in[i] != 'u' && in[i] != 'U')) continue;
    size_t digits = in[i] == 'u' ? 4 : 8;
    out.pop_back();
    ++i;
    if (in.size() - i < digits) fail("truncated \\u escape in UNICODE string");
    uint32_t cp = 0;
    for (size_t k = 0; k < digits; ++k) {
      int h = hex_value(in[i + k]);
      if (h < 0) fail("bad \\u escape in UNICODE string");
      cp = cp << 4 | uint32_t(h);
    }
    if (cp > 0x10ffff) fail("\\U escape beyond U+10FFFF in UNICODE string");
    append_utf8(out, cp);
    i += digits;
  }
  return out;
}

void Unpickler::push(MutValue v) {
  if (++pushes_ > kMaxPickleValues) {
    fail("more than " + std::to_string(kMaxPickleValues) + " values (limit)");
  }
  stack_.push_back(std::move(v));
}

MutValue Unpickler::pop() {
  size_t base = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= base) fail("stack underflow");
  MutValue v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

MutValue& Unpickler::top() {
  size_t base = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= base) fail("stack underflow");
  return stack_.back();
}

std::vector<MutValue> Unpickler::pop_mark() {
  if (marks_.empty()) fail("no MARK to pop to");
  size_t base = marks_.back();
  marks_.pop_back();
  std::vector<MutValue> items(std::make_move_iterator(stack_.begin() + ptrdiff_t(base)),
                              std::make_move_iterator(stack_.end()));
  stack_.resize(base);
  return items;
}

MutValue Unpickler::make_tuple(std::vector<MutValue> items) {
  auto t = make(Kind::tuple);
  t->items.assign(items.begin(), items.end());
  return t;
}

MutValue Unpickler::pop_tuple(size_t n) {
  std::vector<MutValue> items(n);
  for (size_t k = n; k-- > 0;) items[k] = pop();
  return make_tuple(std::move(items));
}

void Unpickler::memo_put(uint64_t key) {
  if (memo_.size() >= kMaxPickleMemo && !memo_.count(key)) {
    fail("memo holds more than " + std::to_string(kMaxPickleMemo) + " entries (limit)");
  }
  memo_[key] = top();
}

void Unpickler::memo_get(uint64_t key) {
  auto it = memo_.find(key);
  if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
  push(it->second);
}

MutValue Unpickler::global(const std::string& module, const std::string& name) {
  if (!is_allowed_global(module, name)) {
    fail("global '" + module + "." + name.substr(0, 200) +
         "' is refused: a checkpoint may only name torch's tensor, storage and container "
         "globals (nothing is imported or executed)");
  }
  return make_text(Kind::object, module + "." + name);
}

MutValue Unpickler::call(const Value& fn, const Value& args, int depth) {
  if (fn.kind != Kind::object) fail(std::string("cannot call a ") + kind_name(fn.kind));
  const std::string& f = fn.s;
  if (args.kind != Kind::tuple) {
    fail("arguments of " + f + " are a " + kind_name(args.kind) + ", expected a tuple");
  }
  const auto& a = args.items;
  if (f == "collections.OrderedDict") {
    if (!a.empty()) fail("collections.OrderedDict called with arguments");
    return make(Kind::dict);
  }
  if (f == "_codecs.encode" && a.size() == 2 && a[0]->kind == Kind::string &&
      a[1]->kind == Kind::string && (a[1]->s == "latin1" || a[1]->s == "latin-1")) {
    if (auto bytes = latin1_from_utf8(a[0]->s)) return make_text(Kind::bytes, std::move(*bytes));
    fail("_codecs.encode(..., 'latin1') of text that is not latin-1");
  }
  if ((f == "__builtin__.bytes" || f == "builtins.bytes") && a.empty()) return make(Kind::bytes);
  if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(f, args);
  }
  if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != Kind::tensor) fail(f + " expects a tensor as first argument");
    return std::const_pointer_cast<Value>(a[0]);
  }
  if (f == "torch._tensor._rebuild_from_type_v2" || f == "torch._tensor._rebuild_from_type") {
    // (func, type, args, state): the tensor is func(*args); its subclass and state are dropped.
    if (a.size() < 3) fail(f + " expects 4 arguments, got " + std::to_string(a.size()));
    if (depth > 4) fail(f + " nested too deeply");
    return call(*a[0], *a[2], depth + 1);
  }
  auto obj = make_text(Kind::object, f);
  obj->items = a;
  return obj;
}

int64_t Unpickler::index(const Value& v, const char* what) const {
  if (v.kind != Kind::integer || v.i < 0) {
    std::string got =
        v.kind == Kind::integer ? std::to_string(v.i) : "a " + std::string(kind_name(v.kind));
    fail(std::string("tensor ") + what + " must be a non-negative int, got " + got);
  }
  return v.i;
}

std::vector<int64_t> Unpickler::index_list(const Value& v, const char* what) const {
  if (v.kind != Kind::tuple && v.kind != Kind::list) {
    fail(std::string("tensor ") + what + " must be a tuple, got a " + kind_name(v.kind));
  }
  if (v.items.size() > kMaxTensorDims) {
    fail(std::string("tensor ") + what + " has " + std::to_string(v.items.size()) +
         " dimensions (limit " + std::to_string(kMaxTensorDims) + ")");
  }
  std::vector<int64_t> out;
  for (const auto& item : v.items) out.push_back(index(*item, what));
  return out;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]) and _rebuild_tensor(storage, storage_offset, size, stride).
MutValue Unpickler::rebuild_tensor(const std::string& fn, const Value& args) {
  const auto& a = args.items;
  if (a.size() < 4) fail(fn + " expects at least 4 arguments, got " + std::to_string(a.size()));
  auto storage = storages_.find(a[0].get());
  if (storage == storages_.end()) {
    fail(fn + ": first argument is a " + kind_name(a[0]->kind) +
         ", expected a storage (persistent id)");
  }
  TensorView view;
  view.storage = storage->second;
  view.offset = index(*a[1], "storage offset");
  view.stride = index_list(*a[3], "stride");
  auto t = std::make_shared<Tensor>();
  t->shape = index_list(*a[2], "size");
  t->dtype = view.storage.dtype;
  if (t->shape.size() != view.stride.size()) {
    fail("tensor size has " + std::to_string(t->shape.size()) + (t->shape.size() == 1 ? " dimension" : " dimensions") +
         " but its stride has " + std::to_string(view.stride.size()));
  }
  int64_t numel = 1;
  for (int64_t d : t->shape) {
    if (__builtin_mul_overflow(numel, d, &numel)) fail("tensor element count overflows int64");
  }
  if (numel > kMaxTensorNumel) {
    fail("tensor of " + std::to_string(numel) + " elements is larger than the limit of " +
         std::to_string(kMaxTensorNumel) + " elements (1 GiB as float32)");
  }
  if (tensors_.size() >= kMaxTensors) {
    fail("more than " + std::to_string(kMaxTensors) + " tensors (limit)");
  }
  view.tensor = t;
  tensors_.push_back(std::move(view));
  auto v = make(Kind::tensor);
  v->tensor = t;
  return v;
}

void Unpickler::set_item(Value& target, MutValue key, MutValue value) {
  if (target.kind == Kind::dict) {
    if (auto h = hash_key(*key)) {
      auto& index = dict_index_[&target];
      auto [it, inserted] = index.emplace(std::move(*h), target.entries.size());
      if (!inserted) {
        target.entries[it->second].second = std::move(value);
        return;
      }
    }
  } else if (target.kind != Kind::object) {
    fail(std::string("cannot set an item on a ") + kind_name(target.kind));
  }
  target.entries.emplace_back(std::move(key), std::move(value));
}

void Unpickler::append(Value& target, MutValue value) {
  if (target.kind != Kind::list && target.kind != Kind::object) {
    fail(std::string("cannot append to a ") + kind_name(target.kind));
  }
  target.items.push_back(std::move(value));
}

void Unpickler::build(Value& target, const MutValue& state) {
  switch (target.kind) {
    case Kind::dict:
    case Kind::tensor:
      return;  // a state_dict's _metadata, a tensor's Python attributes: not needed
    case Kind::object:
      if (state->kind == Kind::dict) {
        target.entries.insert(target.entries.end(), state->entries.begin(), state->entries.end());
      } else {
        target.entries.emplace_back(make_text(Kind::string, "__setstate__"), state);
      }
      return;
    default: fail(std::string("cannot BUILD a ") + kind_name(target.kind));
  }
}

MutValue Unpickler::persistent(const Value& pid) {
  std::variant<StorageRef, ValuePtr> r;
  try {
    r = load_(pid);
  } catch (const CheckpointError& e) {
    fail(e.what());
  }
  if (auto* s = std::get_if<StorageRef>(&r)) {
    auto v = make_text(Kind::object, "torch.storage.TypedStorage");
    storages_.emplace(v.get(), std::move(*s));
    return v;
  }
  auto& v = std::get<ValuePtr>(r);
  if (!v) fail("persistent id resolved to nothing");
  return std::const_pointer_cast<Value>(v);
}

// Rejects cycles and nesting deeper than kMaxPickleDepth without recursing; records what
// the result holds.
void Unpickler::validate(const Value& root) {
  auto leaf = [&](const Value* v) {
    if (v->kind == Kind::tensor && v->tensor) reachable_tensors_.insert(v->tensor.get());
  };
  if (!is_container(root.kind)) return leaf(&root);

  struct Frame {
    const Value* v;
    size_t next = 0;
    size_t height = 1;
  };
  std::unordered_map<const Value*, size_t> height;  // finished containers
  std::unordered_set<const Value*> open;
  std::vector<Frame> path{{&root}};
  open.insert(&root);
  const std::string too_deep =
      "objects nested deeper than " + std::to_string(kMaxPickleDepth) + " levels (limit)";
  while (!path.empty()) {
    Frame& f = path.back();
    if (f.next < child_count(*f.v)) {
      const Value* c = child(*f.v, f.next++);
      size_t h = 1;
      if (!is_container(c->kind)) {
        leaf(c);
      } else if (open.count(c)) {
        fail("pickle contains a reference cycle");
      } else if (auto it = height.find(c); it != height.end()) {
        h = it->second;
        if (path.size() + h > kMaxPickleDepth) fail(too_deep);
      } else {
        if (path.size() >= kMaxPickleDepth) fail(too_deep);
        open.insert(c);
        path.push_back({c});
        continue;
      }
      f.height = std::max(f.height, h + 1);
    } else {
      const Value* v = f.v;
      size_t h = f.height;
      path.pop_back();
      open.erase(v);
      height.emplace(v, h);
      if (!path.empty()) path.back().height = std::max(path.back().height, h + 1);
    }
  }
  for (const auto& entry : height) kept_.insert(entry.first);
}

Unpickled Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    if (pos_ >= size_) {
      throw CheckpointError(name_ + ": truncated: pickle ends at byte " + std::to_string(pos_) +
                            " without a STOP opcode");
    }
    op_ = data_[pos_++];
    switch (op_) {
      case 0x80: {  // PROTO
        uint8_t version = u8();
        if (version > 5) fail("pickle protocol " + std::to_string(version) + " is newer than 5");
        break;
      }
      case 0x95:  // FRAME: only a read-ahead hint
        if (u64() > size_ - pos_) fail("truncated: frame runs past the end of the pickle");
        break;
      case '}': push(make(Kind::dict)); break;
      case ']': push(make(Kind::list)); break;
      case ')': push(make(Kind::tuple)); break;
      case '(':
        if (marks_.size() >= kMaxPickleDepth) {
          fail("MARKs nested deeper than " + std::to_string(kMaxPickleDepth) + " (limit)");
        }
        marks_.push_back(stack_.size());
        break;
      case 0x85: push(pop_tuple(1)); break;
      case 0x86: push(pop_tuple(2)); break;
      case 0x87: push(pop_tuple(3)); break;
      case 't': push(make_tuple(pop_mark())); break;
      case 'J': push(make_int(int32_t(u32()))); break;
      case 'K': push(make_int(u8())); break;
      case 'M': push(make_int(u16())); break;
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4
        uint64_t n = op_ == 0x8a ? u8() : length32();
        const uint8_t* p = take(n);
        auto small = int_from_le(p, size_t(n));
        push(small ? make_int(*small)
                   : make_big_int(std::string(reinterpret_cast<const char*>(p), size_t(n))));
        break;
      }
      case 'I': {
        std::string s = line();
        if (s == "00" || s == "01") {
          auto v = make(Kind::boolean);
          v->b = s == "01";
          push(v);
        } else {
          push(parse_decimal(s));
        }
        break;
      }
      case 'L': {
        std::string s = line();
        if (!s.empty() && s.back() == 'L') s.pop_back();
        push(parse_decimal(s));
        break;
      }
      case 'G': {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = bits << 8 | p[k];
        auto v = make(Kind::real);
        std::memcpy(&v->d, &bits, sizeof bits);
        push(v);
        break;
      }
      case 0x8c: push(make_text(Kind::string, text(u8()))); break;
      case 'X': push(make_text(Kind::string, text(u32()))); break;
      case 0x8d: push(make_text(Kind::string, text(u64()))); break;
      case 'V': push(make_text(Kind::string, decode_raw_unicode_escape(line()))); break;
      case 'U': push(make_text(Kind::string, text(u8()))); break;
      case 'T': push(make_text(Kind::string, text(length32()))); break;
      case 'C': push(make_text(Kind::bytes, text(u8()))); break;
      case 'B': push(make_text(Kind::bytes, text(u32()))); break;
      case 0x8e: push(make_text(Kind::bytes, text(u64()))); break;
      case 'N': push(make(Kind::none)); break;
      case 0x88:
      case 0x89: {
        auto v = make(Kind::boolean);
        v->b = op_ == 0x88;
        push(v);
        break;
      }
      case 'q': memo_put(u8()); break;
      case 'r': memo_put(u32()); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(u8()); break;
      case 'j': memo_get(u32()); break;
      case 'c': {
        std::string module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        MutValue name = pop();
        MutValue module = pop();
        if (name->kind != Kind::string || module->kind != Kind::string) {
          fail("STACK_GLOBAL needs two strings");
        }
        push(global(module->s, name->s));
        break;
      }
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ: both call the callable below the argument tuple
        MutValue args = pop();
        MutValue fn = pop();
        push(call(*fn, *args, 0));
        break;
      }
      case 'b': {
        MutValue state = pop();
        build(*top(), state);
        break;
      }
      case 's': {
        MutValue value = pop();
        MutValue key = pop();
        set_item(*top(), std::move(key), std::move(value));
        break;
      }
      case 'u': {
        std::vector<MutValue> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        Value& target = *top();
        for (size_t k = 0; k < items.size(); k += 2) set_item(target, items[k], items[k + 1]);
        break;
      }
      case 'a': {
        MutValue value = pop();
        append(*top(), std::move(value));
        break;
      }
      case 'e': {
        std::vector<MutValue> items = pop_mark();
        Value& target = *top();
        for (auto& item : items) append(target, std::move(item));
        break;
      }
      case 'Q': {
        MutValue pid = pop();
        push(persistent(*pid));
        break;
      }
      case 'P': push(persistent(*make_text(Kind::string, line()))); break;
      case '.': {
        MutValue result = pop();
        validate(*result);
        Unpickled out;
        for (auto& view : tensors_) {
          if (reachable_tensors_.count(view.tensor.get())) out.tensors.push_back(std::move(view));
        }
        out.root = std::move(result);
        out.size = pos_;
        return out;
      }
      default: {
        const char* op = opcode_name(op_);
        std::string what =
            op ? "unsupported pickle opcode " + std::string(op) + " (" + hex_byte(op_) + ")"
               : "unknown pickle opcode " + hex_byte(op_);
        throw CheckpointError(name_ + ": " + what + " at byte " + std::to_string(op_pos_));
      }
    }
  }
}

}  // namespace

bool is_allowed_global(const std::string& module, const std::string& name) {
  static const std::unordered_set<std::string> kAllowed = {
      "collections.OrderedDict",
      "torch._utils._rebuild_tensor",
      "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state",
      "torch._tensor._rebuild_from_type",
      "torch._tensor._rebuild_from_type_v2",
      "torch.Tensor",
      "torch.nn.parameter.Parameter",
      "torch.Size",
      "torch.device",
      "_codecs.encode",
      "__builtin__.bytes",
      "builtins.bytes",
  };
  static const std::unordered_set<std::string> kDtypes = {
      "float32", "float16", "bfloat16", "float64", "int64", "int32", "int16",
      "int8",    "uint8",   "bool",     "half",    "float", "double", "long",
  };
  if (kAllowed.count(module + "." + name)) return true;
  if (module == "torch" && kDtypes.count(name)) return true;
  // Storage types (torch.FloatStorage, torch.cuda.HalfStorage, torch.UntypedStorage): names
  // only; which ones a checkpoint may use is torch_file's business.
  const std::string suffix = "Storage";
  return (module == "torch" || module == "torch.cuda") && name.size() > suffix.size() &&
         name.size() < 64 && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

Unpickled unpickle(const uint8_t* data, size_t size, const std::string& name,
                   const PersistentLoad& persistent_load) {
  return Unpickler(data, size, name, persistent_load).run();
}

}  // namespace fg::ckpt
