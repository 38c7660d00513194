#include "apps/attend/tracker.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace fg::apps::attend {

float iou(const Box& a, const Box& b) {
  const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0.f;
  const float inter = iw * ih;
  const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0.f;
}

Tracker::Tracker(const TrackerOptions& options) : options_(options) {
  if (options.confirm_frames < 1) throw std::invalid_argument("tracker: confirm_frames must be >= 1");
}

std::vector<size_t> Tracker::update(int64_t frame, const std::vector<Box>& detections) {
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(),
                               [&](const Track& t) { return frame - t.last_frame > options_.max_missed; }),
                tracks_.end());
  std::vector<std::tuple<float, size_t, size_t>> pairs;  // (iou, detection, track)
  for (size_t d = 0; d < detections.size(); ++d) {
    for (size_t t = 0; t < tracks_.size(); ++t) {
      const float o = iou(detections[d], tracks_[t].box);
      if (o >= options_.min_iou) pairs.emplace_back(o, d, t);
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> assigned(detections.size(), kNone);
  std::vector<bool> taken(tracks_.size(), false);
  for (const auto& [o, d, t] : pairs) {
    if (assigned[d] != kNone || taken[t]) continue;
    assigned[d] = t;
    taken[t] = true;
  }
  for (size_t d = 0; d < detections.size(); ++d) {
    if (assigned[d] == kNone) {
      Track t;
      t.id = next_id_++;
      t.first_frame = frame;
      tracks_.push_back(std::move(t));
      assigned[d] = tracks_.size() - 1;
    }
    Track& t = tracks_[assigned[d]];
    t.box = detections[d];
    t.last_frame = frame;
    ++t.frames;
  }
  return assigned;
}

bool Tracker::needs_identification(const Track& t, int64_t frame) const {
  if (!t.decision || !t.embedded_box) return true;
  if (!t.recent.empty() && t.recent.back().label != t.decision->label) return true;
  return frame - t.embedded_frame >= options_.refresh_frames || iou(t.box, *t.embedded_box) < options_.moved_iou;
}

std::optional<Decision> Tracker::observe(size_t index, int64_t frame, Observation observation) {
  Track& t = tracks_.at(index);
  t.embedded_box = t.box;
  t.embedded_frame = frame;
  t.recent.push_back(std::move(observation));
  const size_t n = static_cast<size_t>(options_.confirm_frames);
  if (t.recent.size() > n) t.recent.pop_front();
  if (t.recent.size() < n) return std::nullopt;
  const std::string& label = t.recent.front().label;
  float sum = 0.f;
  for (const Observation& o : t.recent) {
    if (o.label != label) return std::nullopt;
    sum += o.score;
  }
  if (t.decision && t.decision->label == label) return std::nullopt;
  t.decision = Decision{label, sum / static_cast<float>(n)};
  return t.decision;
}

}  // namespace fg::apps::attend
