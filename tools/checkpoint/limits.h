// The limits of the checkpoint reader, in one place. Breaking one is a CheckpointError that
// names the limit, never a crash or an unbounded allocation. They are far above what real
// checkpoints need (a ResNet-50 trainer checkpoint: ~500 tensors, largest 2048x512 in the
// backbone, a loss head of 360k classes x 512 = 184M elements for the largest public face
// datasets) and low enough that a small crafted file cannot make the reader allocate much
// more than the file itself holds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fg::ckpt {

// Pickle machine.
inline constexpr size_t kMaxPickleDepth = 512;        // nesting of containers and MARKs
inline constexpr size_t kMaxPickleValues = 1u << 22;  // values pushed by one pickle
inline constexpr size_t kMaxPickleMemo = 1u << 20;    // memo entries
inline constexpr size_t kMaxTensorDims = 64;

// Tensors.
inline constexpr size_t kMaxTensors = 1u << 16;            // tensors in one checkpoint
inline constexpr int64_t kMaxTensorNumel = int64_t{1} << 28;  // elements of one tensor: 1 GiB as float32
// All tensors together may hold at most this many times the elements of the storages they
// view, plus kMaxExtraNumel: views of a storage normally cover each element once (fp16 and
// uint8 storages convert to float32 without more elements), so only crafted overlapping or
// broadcast (stride 0) views come near it.
inline constexpr int64_t kMaxViewFactor = 4;
inline constexpr int64_t kMaxExtraNumel = int64_t{1} << 24;

// Zip archive.
inline constexpr uint64_t kMaxZipEntryBytes = uint64_t{1} << 31;  // one entry, uncompressed
// Deflate cannot expand data more than ~1032:1; an entry declaring more is corrupt or a bomb.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

}  // namespace fg::ckpt
