#include "nn/conv2d_check.h"
#include "nn/kernels.h"

namespace fg::nn {

void conv2d_ref(const Conv2dShape& s, const float* in, int h, int w, const float* weight,
                const float* bias, const float* residual, Act act, float* out) {
  check_conv2d_input(s, h, w, "conv2d_ref");
  const int oh = s.out_h(h), ow = s.out_w(w);
  for (int oc = 0; oc < s.out_c; ++oc)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        double sum = bias ? bias[oc] : 0.0;
        for (int ic = 0; ic < s.in_c; ++ic)
          for (int ky = 0; ky < s.kh; ++ky)
            for (int kx = 0; kx < s.kw; ++kx) {
              const int iy = oy * s.stride_h + ky - s.pad_h;
              const int ix = ox * s.stride_w + kx - s.pad_w;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              sum += double(weight[((oc * s.in_c + ic) * s.kh + ky) * s.kw + kx]) *
                     in[(ic * h + iy) * w + ix];
            }
        const int o = (oc * oh + oy) * ow + ox;
        if (residual) sum += residual[o];
        if (act == Act::relu && sum < 0) sum = 0;
        out[o] = static_cast<float>(sum);
      }
}

}  // namespace fg::nn
