// Dropping a weights file's pages once a network has packed them into its own layout.
#pragma once

#include "weights/fgw.h"

namespace fg::nn {

// Requires: `t` is a view of an open WeightsFile (a read-only file mapping) whose data the
// caller has already copied or packed. Guarantees: the whole pages inside the tensor leave
// this process's resident set; the view still reads the same values (pages fault back in
// from the file), so this only saves memory. Without it the file's touched pages stay
// resident beside the packed copy and peak RSS holds the weights twice.
void release_packed_pages(const weights::TensorView& t);

}  // namespace fg::nn
