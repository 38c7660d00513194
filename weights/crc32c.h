// CRC-32C (Castagnoli), the checksum of a v2 weights file, on SSE4.2's crc32 instruction.
// The state is the raw register: start from ~0u, finish with ~state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fg::weights {

// The register after feeding `n` bytes from `state`: three independent streams at a time
// (the instruction's latency is 3 cycles, its throughput 1), joined by linearity.
uint32_t crc32c_update(uint32_t state, const void* data, size_t n);

// The same, one byte stream: the reference the fast one is tested against.
uint32_t crc32c_update_serial(uint32_t state, const void* data, size_t n);

}  // namespace fg::weights
