#include "tools/convert/mtcnn_writer.h"

#include <filesystem>

#include "nn/mtcnn.h"
#include "tools/convert/sha256.h"

namespace fg::convert {
namespace {

constexpr const char* kConverterVersion = "facegate-convert 1";

}  // namespace

Summary write_mtcnn(const std::array<std::string, 3>& paths, AddMtcnnNet add_net, weights::WeightsWriter& out,
                    const std::string& output) {
  Summary summary;
  summary.output = output;
  summary.arch = nn::kMtcnnArch;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string net = kMtcnnNets[i];
    add_net(net, paths[i], out, summary);
    out.set_meta(net + "_sha256", sha256_file(paths[i]));
    out.set_meta(net + "_source_name", std::filesystem::path(paths[i]).filename().string());
  }
  out.set_meta("arch", summary.arch);
  out.set_meta("converter_version", std::string(kConverterVersion));
  summary.bytes_written = out.write(output);
  return summary;
}

}  // namespace fg::convert
