// The checkpoint reader past the zip layer: the input is a data.pkl, wrapped in a valid
// stored zip (right CRCs) beside three storages, so mutations reach the unpickler, the
// persistent-id resolution and the gathering of tensor views instead of failing a CRC.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tools/checkpoint/torch_file.h"

namespace {

void put16(std::string& s, uint32_t v) { s += char(v & 0xff), s += char(v >> 8 & 0xff); }
void put32(std::string& s, uint32_t v) { put16(s, v & 0xffff), put16(s, v >> 16); }

// A stored (uncompressed) zip of `files`, as torch.save lays it out.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, central;
  for (const auto& [name, data] : files) {
    const uint32_t crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
    const uint32_t offset = uint32_t(out.size());
    put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 0), put32(out, 0);
    put32(out, crc), put32(out, uint32_t(data.size())), put32(out, uint32_t(data.size()));
    put16(out, uint32_t(name.size())), put16(out, 0);
    out += name + data;
    put32(central, 0x02014b50), put16(central, 20), put16(central, 20), put16(central, 0);
    put16(central, 0), put32(central, 0), put32(central, crc), put32(central, uint32_t(data.size()));
    put32(central, uint32_t(data.size())), put16(central, uint32_t(name.size()));
    put16(central, 0), put16(central, 0), put16(central, 0), put16(central, 0), put32(central, 0);
    put32(central, offset);
    central += name;
  }
  const uint32_t cd_offset = uint32_t(out.size());
  out += central;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0), put16(out, uint32_t(files.size()));
  put16(out, uint32_t(files.size())), put32(out, uint32_t(central.size())), put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string floats;
  for (int k = 0; k < 64; ++k) floats += char(k * 37);
  const std::string zip = stored_zip({
      {"archive/data.pkl", std::string(reinterpret_cast<const char*>(data), size)},
      {"archive/data/0", floats},
      {"archive/data/1", floats.substr(0, 16)},
      {"archive/data/2", std::string()},
      {"archive/version", "3\n"},
  });
  try {
    auto root = fg::ckpt::load_torch_bytes(reinterpret_cast<const uint8_t*>(zip.data()), zip.size(), "fuzz.pt");
    if (root->kind == fg::ckpt::Value::Kind::dict) fg::ckpt::tensors_of(*root);
  } catch (const fg::ckpt::CheckpointError&) {
  }
  return 0;
}
