// Shape validation shared by conv2d_ref and Conv2d, so both refuse the same inputs.
#pragma once

#include <string>

#include "nn/kernels.h"

namespace fg::nn {

std::string describe(const Conv2dShape& s);
// Throws std::invalid_argument naming `who` and the shape unless every field is usable.
void check_conv2d_shape(const Conv2dShape& s, const char* who);
// As above, and also requires an h x w input that gives a non-empty output.
void check_conv2d_input(const Conv2dShape& s, int h, int w, const char* who);

}  // namespace fg::nn
