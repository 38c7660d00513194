// Our own unpickler for what torch.save writes: pickle protocols 2-5 (and the text INT, LONG
// and UNICODE opcodes of protocols 0-1). Nothing is imported or executed. Globals are kept as
// names: collections.OrderedDict becomes a dict; torch._utils._rebuild_tensor(_v2) and
// _rebuild_parameter(_with_state) (also wrapped in torch._tensor._rebuild_from_type(_v2))
// become tensors; _codecs.encode(text, 'latin1') and bytes() (how protocols < 3 write Python 3
// bytes) become bytes. The other globals torch.save writes (storage types such as
// torch.FloatStorage, torch.Size, torch.device, dtypes, the tensor types rebuilt from) are kept
// as names: a Value of kind object with the global's "module.name" in `s` and, once called, the
// call's arguments in `items` (then any appended items; dict items and BUILD state go to
// `entries`, a non-dict state under the key "__setstate__"). Any other global (os.system,
// builtins.eval, a user's class, numpy) is refused when the pickle names it: see
// is_allowed_global(). BUILD state on dicts and tensors (e.g. a state_dict's _metadata) is dropped.
// Integers beyond int64 become an object "builtins.int" whose one item is the pickle's
// little-endian two's-complement bytes.
//
// Tensors are not gathered here: the caller maps persistent ids to storages, then fills each
// TensorView's values once it has the storage bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "tools/checkpoint/limits.h"
#include "tools/checkpoint/torch_file.h"

namespace fg::ckpt {

// What a persistent id refers to: `numel` elements of type `dtype` starting at element
// `offset` of the bytes the caller keeps under `key`.
struct StorageRef {
  std::string key;
  std::string dtype;
  int64_t offset = 0;
  int64_t numel = 0;
};

// A tensor found in the pickle, its values still to be gathered from its storage.
struct TensorView {
  std::shared_ptr<Tensor> tensor;  // shape and dtype set, values empty
  StorageRef storage;
  int64_t offset = 0;  // storage_offset in elements, relative to storage.offset
  std::vector<int64_t> stride;
};

// Maps a persistent id to a storage, or (legacy 'module' ids) to a plain value.
using PersistentLoad = std::function<std::variant<StorageRef, ValuePtr>(const Value& pid)>;

struct Unpickled {
  ValuePtr root;                    // acyclic, at most kMaxPickleDepth deep
  std::vector<TensorView> tensors;  // in order of appearance
  size_t size = 0;                  // bytes read, up to and including STOP
};

// True for the globals a torch checkpoint may name (module "torch.cuda", name "FloatStorage").
bool is_allowed_global(const std::string& module, const std::string& name);

// Interprets the pickle at the start of [data, data + size). `name` labels errors, which
// say what went wrong, at which opcode and byte offset. Throws CheckpointError.
Unpickled unpickle(const uint8_t* data, size_t size, const std::string& name,
                   const PersistentLoad& persistent_load);

}  // namespace fg::ckpt
