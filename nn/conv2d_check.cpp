#include "nn/conv2d_check.h"

#include <stdexcept>

namespace fg::nn {

std::string describe(const Conv2dShape& s) {
  return "in_c=" + std::to_string(s.in_c) + " out_c=" + std::to_string(s.out_c) +
         " kernel=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         " stride=" + std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) +
         " pad=" + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w);
}

void check_conv2d_shape(const Conv2dShape& s, const char* who) {
  if (s.in_c < 1 || s.out_c < 1 || s.kh < 1 || s.kw < 1 || s.stride_h < 1 || s.stride_w < 1 ||
      s.pad_h < 0 || s.pad_w < 0)
    throw std::invalid_argument(std::string(who) + ": invalid shape " + describe(s));
}

void check_conv2d_input(const Conv2dShape& s, int h, int w, const char* who) {
  check_conv2d_shape(s, who);
  if (h < 1 || w < 1 || s.out_h(h) < 1 || s.out_w(w) < 1 || h + 2 * s.pad_h < s.kh ||
      w + 2 * s.pad_w < s.kw)
    throw std::invalid_argument(std::string(who) + ": input " + std::to_string(h) + "x" +
                                std::to_string(w) + " gives no output for " + describe(s));
}

}  // namespace fg::nn
