#include "tools/checkpoint/torch_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <list>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "common/count.h"
#include "tools/checkpoint/limits.h"
#include "tools/checkpoint/pickle.h"
#include "tools/checkpoint/zip_reader.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "storages are read in host byte order");

namespace fg::ckpt {
namespace {

using Kind = Value::Kind;
using StorageBytes = std::function<Bytes(const std::string& key)>;

// A view may repeat storage elements (stride 0) beyond the storage's own size, up to this.
constexpr int64_t kMaxBroadcastNumel = int64_t{1} << 28;
constexpr int64_t kLegacyProtocolVersion = 1001;
// 0x1950a86a20f9469cfc6c as pickle stores it: little-endian two's complement.
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

[[noreturn]] void fail(const std::string& what) { throw CheckpointError(what); }

struct Dtype {
  const char* storage_type;
  const char* name;
  size_t size;
};

constexpr Dtype kDtypes[] = {
    {"FloatStorage", "float32", 4},     {"HalfStorage", "float16", 2},
    {"BFloat16Storage", "bfloat16", 2}, {"DoubleStorage", "float64", 8},
    {"LongStorage", "int64", 8},        {"IntStorage", "int32", 4},
    {"ShortStorage", "int16", 2},       {"CharStorage", "int8", 1},
    {"ByteStorage", "uint8", 1},        {"BoolStorage", "bool", 1},
    {"UntypedStorage", "uint8", 1},
};

const Dtype& dtype_named(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d;
  }
  fail("unsupported dtype '" + name + "'");
}

// torch.FloatStorage (or torch.cuda.FloatStorage, saved from a GPU) -> "float32".
std::string dtype_of_storage_type(const Value& type) {
  if (type.kind != Kind::object) fail("storage type is not a global");
  std::string name = type.s;
  for (const char* prefix : {"torch.cuda.", "torch."}) {
    if (name.rfind(prefix, 0) == 0) {
      name.erase(0, std::strlen(prefix));
      break;
    }
  }
  for (const auto& d : kDtypes) {
    if (name == d.storage_type) return d.name;
  }
  fail("unsupported storage type '" + type.s + "'");
}

const std::string& text(const Value& v, const char* what) {
  if (v.kind != Kind::string && v.kind != Kind::bytes) {
    fail(std::string(what) + " is not a string");
  }
  return v.s;
}

int64_t count(const Value& v, const char* what) {
  if (v.kind != Kind::integer || v.i < 0) fail(std::string(what) + " is not a non-negative int");
  return v.i;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? "," : "") + std::to_string(s[k]);
  return out + "]";
}

// ---- dtype conversion -----------------------------------------------------------------

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    float f = float(mant) * 0x1p-24f;  // zero or subnormal, exact
    return sign ? -f : f;
  }
  uint32_t bits = sign | (exp == 0x1f ? 0x7f800000u : (exp + 112) << 23) | mant << 13;
  return load<float>(reinterpret_cast<const uint8_t*>(&bits));
}

struct F32 {
  static constexpr size_t size = 4;
  static float get(const uint8_t* p) { return load<float>(p); }
};
struct F16 {
  static constexpr size_t size = 2;
  static float get(const uint8_t* p) { return half_to_float(load<uint16_t>(p)); }
};
struct BF16 {
  static constexpr size_t size = 2;
  static float get(const uint8_t* p) {
    uint32_t bits = uint32_t(load<uint16_t>(p)) << 16;
    return load<float>(reinterpret_cast<const uint8_t*>(&bits));
  }
};
template <typename T>
struct Plain {
  static constexpr size_t size = sizeof(T);
  static float get(const uint8_t* p) { return float(load<T>(p)); }
};
struct Bool {
  static constexpr size_t size = 1;
  static float get(const uint8_t* p) { return *p ? 1.0f : 0.0f; }
};

// out[i] = element i (row-major) of the view (shape, stride, offset) of `storage`; the
// caller has checked that every element lies inside the storage.
template <typename D>
void gather(const uint8_t* storage, const std::vector<int64_t>& shape,
            const std::vector<int64_t>& stride, int64_t offset, float* out) {
  const size_t ndim = shape.size();
  int64_t numel = 1;
  bool contiguous = true;
  for (size_t d = ndim; d-- > 0;) {
    if (shape[d] != 1 && stride[d] != numel) contiguous = false;
    numel *= shape[d];
  }
  if (numel == 0) return;
  const uint8_t* base = storage + offset * D::size;
  if (contiguous) {
    if constexpr (std::is_same_v<D, F32>) {
      std::memcpy(out, base, size_t(numel) * sizeof(float));
    } else {
      for (int64_t i = 0; i < numel; ++i) out[i] = D::get(base + i * D::size);
    }
    return;
  }
  // Walk the outer dimensions like an odometer; the innermost one is a strided run.
  const int64_t inner = shape[ndim - 1], inner_stride = stride[ndim - 1];
  std::vector<int64_t> index(ndim, 0);
  int64_t pos = 0;
  for (int64_t o = 0; o < numel; o += inner) {
    for (int64_t j = 0; j < inner; ++j)
      out[o + j] = D::get(base + (pos + j * inner_stride) * D::size);
    for (size_t d = ndim - 1; d-- > 0;) {
      pos += stride[d];
      if (++index[d] < shape[d]) break;
      pos -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
}

void gather_as(const std::string& dtype, const uint8_t* storage, const TensorView& v, float* out) {
  const auto& shape = v.tensor->shape;
  if (dtype == "float32") return gather<F32>(storage, shape, v.stride, v.offset, out);
  if (dtype == "float16") return gather<F16>(storage, shape, v.stride, v.offset, out);
  if (dtype == "bfloat16") return gather<BF16>(storage, shape, v.stride, v.offset, out);
  if (dtype == "float64") return gather<Plain<double>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "int64") return gather<Plain<int64_t>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "int32") return gather<Plain<int32_t>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "int16") return gather<Plain<int16_t>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "int8") return gather<Plain<int8_t>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "uint8") return gather<Plain<uint8_t>>(storage, shape, v.stride, v.offset, out);
  if (dtype == "bool") return gather<Bool>(storage, shape, v.stride, v.offset, out);
  fail("unsupported dtype '" + dtype + "'");
}

// ---- materialising tensors ------------------------------------------------------------

// Names every tensor by its first path from the root ("state.0.momentum_buffer"). The
// unpickler has bounded the depth and ruled out cycles.
void name_tensors(const Value& v, const std::string& path,
                  std::unordered_map<const Tensor*, std::string>& names,
                  std::unordered_set<const Value*>& seen) {
  if (v.kind == Kind::tensor) {
    names.emplace(v.tensor.get(), path.empty() ? "<root>" : path);
    return;
  }
  if (v.items.empty() && v.entries.empty()) return;
  if (!seen.insert(&v).second) return;
  const std::string prefix = path.empty() ? "" : path + ".";
  for (size_t k = 0; k < v.items.size(); ++k) {
    name_tensors(*v.items[k], prefix + std::to_string(k), names, seen);
  }
  for (const auto& [key, value] : v.entries) {
    std::string label = key->kind == Kind::string    ? key->s
                        : key->kind == Kind::integer ? std::to_string(key->i)
                                                     : "<key>";
    name_tensors(*key, prefix + "<key>", names, seen);
    name_tensors(*value, prefix + label, names, seen);
  }
}

// Checks that the view lies inside its storage, then fills the tensor's values.
void materialise(const TensorView& v, const std::string& name, Bytes bytes) {
  const StorageRef& s = v.storage;
  Tensor& t = *v.tensor;
  const Dtype& dtype = dtype_named(s.dtype);
  const int64_t available = int64_t(bytes.size / dtype.size);
  const std::string what = "tensor '" + name + "'";
  if (s.offset > available || s.numel > available - s.offset) {
    fail(what + ": its storage '" + s.key + "' holds " + std::to_string(available) + " " + dtype.name +
         (available == 1 ? " element" : " elements") + ", fewer than the " + std::to_string(s.offset + s.numel) +
         " the checkpoint declares");
  }
  const int64_t numel = t.numel();
  if (numel > 0) {
    int64_t last = v.offset;
    bool overflow = false;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      int64_t step;
      overflow |= __builtin_mul_overflow(t.shape[d] - 1, v.stride[d], &step);
      overflow |= __builtin_add_overflow(last, step, &last);
    }
    if (overflow || last >= s.numel) {
      fail(what + " (size " + shape_str(t.shape) + ", stride " + shape_str(v.stride) + ", offset " +
           std::to_string(v.offset) + ") runs past its storage '" + s.key + "' of " +
           fg::count(s.numel, "element", "elements"));
    }
    if (numel > s.numel && numel > kMaxBroadcastNumel) {
      fail(what + " repeats a storage of " + fg::count(s.numel, "element", "elements") + " into " +
           std::to_string(numel) + " (limit " + std::to_string(kMaxBroadcastNumel) + ")");
    }
  }
  t.values.resize(size_t(numel));
  gather_as(s.dtype, bytes.data + size_t(s.offset) * dtype.size, v, t.values.data());
}

// Materialises every tensor, keeping what they allocate in proportion to the storage bytes
// actually present (limits.h): views may overlap or repeat elements, so a small file could
// otherwise ask for any amount of memory.
void materialise_all(const Unpickled& u, const StorageBytes& storage_bytes) {
  std::unordered_map<const Tensor*, std::string> names;
  std::unordered_set<const Value*> seen;
  name_tensors(*u.root, "", names, seen);
  std::unordered_set<std::string> counted;
  int64_t storage_numel = 0, view_numel = 0;
  for (const auto& view : u.tensors) {
    Bytes bytes = storage_bytes(view.storage.key);
    if (counted.insert(view.storage.key).second) {
      storage_numel += int64_t(bytes.size / dtype_named(view.storage.dtype).size);
    }
    view_numel += view.tensor->numel();
    const int64_t budget = kMaxViewFactor * storage_numel + kMaxExtraNumel;
    if (view_numel > budget) {
      fail("tensor '" + names.at(view.tensor.get()) + "': the tensors so far hold " +
           std::to_string(view_numel) + " elements, more than " + std::to_string(kMaxViewFactor) +
           " times their storages' " + std::to_string(storage_numel) + " + " +
           std::to_string(kMaxExtraNumel) + " (limit: overlapping or repeating views)");
    }
    materialise(view, names.at(view.tensor.get()), bytes);
  }
}

// ---- zip format (torch >= 1.6) --------------------------------------------------------

// ('storage', storage_type, key, location, numel)
StorageRef zip_storage(const Value& pid) {
  const auto& t = pid.items;
  if (pid.kind != Kind::tuple || t.size() != 5 || text(*t[0], "persistent id tag") != "storage") {
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  }
  return {text(*t[2], "storage key"), dtype_of_storage_type(*t[1]), 0,
          count(*t[4], "storage size")};
}

ValuePtr load_zip(Bytes file) {
  ZipReader zip(file);
  const ZipEntry* pkl = zip.find("data.pkl");
  if (!pkl) fail("not a PyTorch checkpoint: the zip has no <archive>/data.pkl");
  if (const ZipEntry* entry = zip.find("byteorder")) {
    std::vector<uint8_t> buffer;
    Bytes b = zip.read(*entry, buffer);
    std::string order(reinterpret_cast<const char*>(b.data), std::min<size_t>(b.size, 32));
    if (order != "little") fail("byteorder is '" + order + "'; only 'little' is supported");
  }
  std::vector<uint8_t> pkl_buffer;
  Bytes pkl_bytes = zip.read(*pkl, pkl_buffer);
  Unpickled u = unpickle(pkl_bytes.data, pkl_bytes.size, "data.pkl", zip_storage);

  std::unordered_map<std::string, Bytes> storages;
  std::list<std::vector<uint8_t>> buffers;  // inflated storages
  materialise_all(u, [&](const std::string& key) {
    auto it = storages.find(key);
    if (it != storages.end()) return it->second;
    const ZipEntry* entry = zip.find("data/" + key);
    if (!entry) fail("storage '" + key + "' has no data/" + key + " in the zip");
    buffers.emplace_back();
    return storages[key] = zip.read(*entry, buffers.back());
  });
  return u.root;
}

// ---- legacy format (torch < 1.6) ------------------------------------------------------

struct LegacyRoot {
  std::string dtype;
  int64_t numel = 0;
};

// ('storage', storage_type, root_key, location, numel, view_metadata) where view_metadata is
// None or (view_key, offset, view_size); or ('module', type, source_file, source).
std::variant<StorageRef, ValuePtr> legacy_persistent(
    const Value& pid, std::unordered_map<std::string, LegacyRoot>& roots) {
  const auto& t = pid.items;
  if (pid.kind != Kind::tuple || t.empty()) fail("persistent id is not a tuple");
  const std::string& tag = text(*t[0], "persistent id tag");
  if (tag == "module" && t.size() >= 2) return t[1];
  if (tag != "storage" || t.size() != 6) {
    fail("unsupported persistent id (expected ('storage', type, key, location, size, view))");
  }
  StorageRef ref{text(*t[2], "storage key"), dtype_of_storage_type(*t[1]), 0,
                 count(*t[4], "storage size")};
  roots.emplace(ref.key, LegacyRoot{ref.dtype, ref.numel});  // the first reference decides
  const Value& view = *t[5];
  if (view.kind == Kind::tuple && view.items.size() == 3) {
    ref.offset = count(*view.items[1], "storage view offset");
    ref.numel = count(*view.items[2], "storage view size");
  } else if (view.kind != Kind::none) {
    fail("storage view metadata is not None or (key, offset, size)");
  }
  return ref;
}

bool is_legacy_magic(const Value& v) {
  if (v.kind != Kind::object || v.s != "builtins.int" || v.items.size() != 1) return false;
  std::string b = v.items[0]->s;
  while (b.size() > sizeof kLegacyMagic && b.back() == 0) b.pop_back();
  return b.size() == sizeof kLegacyMagic && std::memcmp(b.data(), kLegacyMagic, b.size()) == 0;
}

ValuePtr load_legacy(Bytes file) {
  if (file.size > 262 && std::memcmp(file.data + 257, "ustar", 5) == 0) {
    fail("tar-format checkpoints (torch < 0.4) are not supported");
  }
  // Protocol 2+ pickles open with PROTO; protocols 0-1 write the magic number as LONG text.
  if (file.data[0] != 0x80 && file.data[0] != 'L') {
    char head[16];
    std::snprintf(head, sizeof head, "0x%02x", file.data[0]);
    fail(std::string("not a PyTorch checkpoint: starts with byte ") + head +
         ", expected a zip (PK\\3\\4) or a pickle (0x80)");
  }
  size_t pos = 0;
  auto next = [&](const std::string& name, const PersistentLoad& load) {
    Unpickled u = unpickle(file.data + pos, file.size - pos, name, load);
    pos += u.size;
    return u;
  };
  const PersistentLoad none = [](const Value&) -> std::variant<StorageRef, ValuePtr> {
    fail("unexpected persistent id");
  };

  Unpickled magic;
  try {
    magic = next("magic number pickle", none);
  } catch (const CheckpointError& e) {
    fail(std::string("not a PyTorch checkpoint: neither a zip nor a legacy torch.save stream (") +
         e.what() + ")");
  }
  if (!is_legacy_magic(*magic.root)) fail("not a PyTorch checkpoint: bad legacy magic number");
  Unpickled protocol = next("protocol version pickle", none);
  if (protocol.root->kind != Kind::integer || protocol.root->i != kLegacyProtocolVersion) {
    fail("legacy protocol version is not " + std::to_string(kLegacyProtocolVersion));
  }
  Unpickled sys_info = next("sys_info pickle", none);
  if (ValuePtr le = sys_info.root->get("little_endian")) {
    if (le->kind != Kind::boolean || !le->b) fail("big-endian checkpoints are not supported");
  }
  std::unordered_map<std::string, LegacyRoot> roots;
  Unpickled main =
      next("main pickle", [&](const Value& pid) { return legacy_persistent(pid, roots); });
  Unpickled keys = next("storage key list pickle", none);
  if (keys.root->kind != Kind::list) fail("the storage key list is not a list");

  // For each key in list order: int64 element count, then the raw bytes.
  std::unordered_map<std::string, Bytes> storages;
  for (const auto& k : keys.root->items) {
    const std::string& key = text(*k, "storage key");
    auto root = roots.find(key);
    if (root == roots.end()) fail("storage '" + key + "' is listed but no tensor uses it");
    if (file.size - pos < 8) {
      fail("truncated: storage '" + key + "' runs past end of file (got " +
           std::to_string(file.size) + " bytes, expected at least " + std::to_string(pos + 8) +
           ")");
    }
    int64_t n = load<int64_t>(file.data + pos);
    pos += 8;
    if (n != root->second.numel) {
      fail("storage '" + key + "' holds " + fg::count(n, "element", "elements") + ", the pickle says " +
           std::to_string(root->second.numel));
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(uint64_t(n), dtype_named(root->second.dtype).size, &nbytes) ||
        nbytes > file.size - pos) {
      fail("truncated: storage '" + key + "' runs past end of file (got " +
           std::to_string(file.size) + " bytes, expected at least " + std::to_string(pos + nbytes) +
           ")");
    }
    if (!storages.emplace(key, Bytes{file.data + pos, size_t(nbytes)}).second) {
      fail("storage '" + key + "' is listed twice");
    }
    pos += size_t(nbytes);
  }
  materialise_all(main, [&](const std::string& key) {
    auto it = storages.find(key);
    if (it == storages.end()) fail("storage '" + key + "' is missing from the storage list");
    return it->second;
  });
  return main.root;
}

}  // namespace

ValuePtr Value::get(const std::string& key) const {
  if (kind != Kind::dict) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k->kind == Kind::string && k->s == key) return v;
  }
  return nullptr;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<std::pair<std::string, std::shared_ptr<const Tensor>>> tensors_of(const Value& v) {
  if (v.kind != Kind::dict) throw CheckpointError("expected a dict of tensors (a state_dict)");
  std::vector<std::pair<std::string, std::shared_ptr<const Tensor>>> out;
  for (const auto& [k, value] : v.entries) {
    if (k->kind == Kind::string && value->kind == Kind::tensor && value->tensor) {
      out.emplace_back(k->s, value->tensor);
    }
  }
  return out;
}

namespace {

template <typename Load>
ValuePtr with_name(const std::string& name, Load load) {
  try {
    return load();
  } catch (const CheckpointError& e) {
    throw CheckpointError(name + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw CheckpointError(name + ": out of memory");
  } catch (const std::exception& e) {
    throw CheckpointError(name + ": " + e.what());
  }
}

ValuePtr load_bytes(Bytes bytes) {
  if (bytes.size == 0) fail("empty file");
  return ZipReader::is_zip(bytes) ? load_zip(bytes) : load_legacy(bytes);
}

}  // namespace

ValuePtr load_torch_file(const std::string& path) {
  return with_name(path, [&] {
    MappedFile file(path);
    return load_bytes(file.bytes());
  });
}

ValuePtr load_torch_bytes(const uint8_t* data, size_t size, const std::string& name) {
  return with_name(name, [&] { return load_bytes({data, size}); });
}

}  // namespace fg::ckpt
