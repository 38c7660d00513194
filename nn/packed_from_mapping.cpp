#include "nn/packed_from_mapping.h"

#include <cstdint>

#include <sys/mman.h>
#include <unistd.h>

namespace fg::nn {

void release_packed_pages(const weights::TensorView& t) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t.data);
  const uintptr_t end = begin + static_cast<uintptr_t>(t.numel()) * sizeof(float);
  // Only the pages wholly inside the tensor: its neighbours may not be packed yet.
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  // MAP_PRIVATE + PROT_READ: no private copies exist, so MADV_DONTNEED cannot lose data.
  // Failure only means the pages stay resident.
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace fg::nn
