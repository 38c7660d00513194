#include "store/codec.h"

#include <cstring>

namespace fg::store::detail {
namespace {

constexpr uint8_t kRecordVersion = 1;

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f32(float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    u32(b);
  }
  void f64(double v) {
    uint64_t b;
    std::memcpy(&b, &v, 8);
    u64(b);
  }
  void str(std::string_view s) {
    if (s.size() > UINT32_MAX) throw std::length_error("string longer than 4 GiB");
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  uint32_t u32() {
    auto b = take(4);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
    return v;
  }
  uint64_t u64() {
    auto b = take(8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
    return v;
  }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  float f32() {
    uint32_t b = u32();
    float v;
    std::memcpy(&v, &b, 4);
    return v;
  }
  double f64() {
    uint64_t b = u64();
    double v;
    std::memcpy(&v, &b, 8);
    return v;
  }
  std::string str() { return std::string(take(u32())); }
  void version() {
    uint8_t v = u8();
    if (v != kRecordVersion)
      throw DecodeError("record version " + std::to_string(v) + ", this build reads " +
                        std::to_string(kRecordVersion));
  }
  void finish() const {
    if (!in_.empty())
      throw DecodeError(std::to_string(in_.size()) + (in_.size() == 1 ? " trailing byte" : " trailing bytes"));
  }
  size_t left() const { return in_.size(); }

 private:
  std::string_view take(size_t n) {
    if (n > in_.size())
      throw DecodeError("truncated: needs " + std::to_string(n) + (n == 1 ? " more byte" : " more bytes") + ", has " +
                        std::to_string(in_.size()));
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string_view in_;
};

}  // namespace

std::string encode_identity(const Identity& identity) {
  Writer w;
  w.u8(kRecordVersion);
  w.i64(identity.created_us);
  w.str(identity.name);
  w.str(identity.extra_json);
  return w.take();
}

Identity decode_identity(std::string_view id, std::string_view bytes) {
  Reader r(bytes);
  r.version();
  Identity out;
  out.id = std::string(id);
  out.created_us = r.i64();
  out.name = r.str();
  out.extra_json = r.str();
  r.finish();
  return out;
}

std::string encode_embedding(const EmbeddingRecord& rec) {
  Writer w;
  w.u8(kRecordVersion);
  w.u64(rec.label);
  w.i64(rec.enrolled_us);
  w.str(rec.identity_id);
  w.str(rec.image_path);
  w.str(rec.content_hash);
  w.str(rec.model_id);
  w.u8(rec.box ? 1 : 0);
  if (rec.box)
    for (float v : *rec.box) w.f32(v);
  w.u32(static_cast<uint32_t>(rec.embedding.size()));
  for (float v : rec.embedding) w.f32(v);
  return w.take();
}

EmbeddingRecord decode_embedding(std::string_view bytes) {
  Reader r(bytes);
  r.version();
  EmbeddingRecord out;
  out.label = r.u64();
  out.enrolled_us = r.i64();
  out.identity_id = r.str();
  out.image_path = r.str();
  out.content_hash = r.str();
  out.model_id = r.str();
  if (r.u8()) {
    std::array<float, 4> box;
    for (float& v : box) v = r.f32();
    out.box = box;
  }
  uint32_t dim = r.u32();
  if (dim > r.left() / 4)
    throw DecodeError("dim " + std::to_string(dim) + " runs past the record end");
  out.embedding.resize(dim);
  for (float& v : out.embedding) v = r.f32();
  r.finish();
  return out;
}

std::string encode_event(const Event& ev) {
  Writer w;
  w.u8(kRecordVersion);
  w.u64(ev.seq);
  w.i64(ev.time_us);
  w.i32(ev.utc_offset_s);
  w.str(ev.camera);
  w.u8(static_cast<uint8_t>(ev.kind));
  w.u8((ev.identity_id ? 1 : 0) | (ev.video_time_s ? 2 : 0));
  if (ev.identity_id) w.str(*ev.identity_id);
  w.str(ev.name);
  w.f32(ev.score);
  w.u32(ev.frames);
  if (ev.video_time_s) w.f64(*ev.video_time_s);
  w.str(std::string_view(reinterpret_cast<const char*>(ev.thumbnail_jpeg.data()),
                         ev.thumbnail_jpeg.size()));
  return w.take();
}

Event decode_event(std::string_view bytes) {
  Reader r(bytes);
  r.version();
  Event out;
  out.seq = r.u64();
  out.time_us = r.i64();
  out.utc_offset_s = r.i32();
  out.camera = r.str();
  uint8_t kind = r.u8();
  if (kind != static_cast<uint8_t>(EventKind::attendance) &&
      kind != static_cast<uint8_t>(EventKind::unknown))
    throw DecodeError("unknown event kind " + std::to_string(kind));
  out.kind = static_cast<EventKind>(kind);
  uint8_t flags = r.u8();
  if (flags & ~3) throw DecodeError("unknown event flags " + std::to_string(flags));
  if (flags & 1) out.identity_id = r.str();
  out.name = r.str();
  out.score = r.f32();
  out.frames = r.u32();
  if (flags & 2) out.video_time_s = r.f64();
  std::string thumb = r.str();
  out.thumbnail_jpeg.assign(thumb.begin(), thumb.end());
  r.finish();
  return out;
}

std::string le_u32(uint32_t v) {
  Writer w;
  w.u32(v);
  return w.take();
}

std::string le_u64(uint64_t v) {
  Writer w;
  w.u64(v);
  return w.take();
}

std::string le_f64(double v) {
  Writer w;
  w.f64(v);
  return w.take();
}

uint32_t read_le_u32(std::string_view bytes) {
  if (bytes.size() != 4) throw DecodeError("expected 4 bytes, got " + std::to_string(bytes.size()));
  return Reader(bytes).u32();
}

uint64_t read_le_u64(std::string_view bytes) {
  if (bytes.size() != 8) throw DecodeError("expected 8 bytes, got " + std::to_string(bytes.size()));
  return Reader(bytes).u64();
}

double read_le_f64(std::string_view bytes) {
  if (bytes.size() != 8) throw DecodeError("expected 8 bytes, got " + std::to_string(bytes.size()));
  return Reader(bytes).f64();
}

std::string be_u64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

uint64_t read_be_u64(std::string_view bytes) {
  if (bytes.size() < 8) throw DecodeError("expected 8 bytes, got " + std::to_string(bytes.size()));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

}  // namespace fg::store::detail
