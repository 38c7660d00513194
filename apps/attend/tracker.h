// Faces followed across frames, so that a person walking past is one track and one decision.
// Detections are associated to tracks by box overlap (greedy, best IoU first); a track is
// decided once its last `confirm_frames` identifications agree, and asks to be embedded again
// only while undecided, when it disagrees with its decision, when it has moved, or when its
// last embedding is old. Pure logic: boxes and labels in, decisions out.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace fg::apps::attend {

using Box = std::array<float, 4>;  // x1, y1, x2, y2

float iou(const Box& a, const Box& b);

struct TrackerOptions {
  int confirm_frames = 3;    // agreeing identifications needed for a decision
  float min_iou = 0.3f;      // a detection continues a track only above this overlap
  int max_missed = 5;        // frames a track survives without a detection
  int refresh_frames = 15;   // a decided track is re-embedded at least this often
  float moved_iou = 0.5f;    // ... or when its box overlaps its last embedded box less than this
};

// One identification of a track's face: an identity id, or "" for unknown.
struct Observation {
  std::string label;
  float score = 0.f;  // best cosine in the gallery
};

struct Decision {
  std::string label;  // "" = unknown
  float score = 0.f;  // mean score of the agreeing identifications
};

struct Track {
  uint64_t id = 0;
  Box box{};
  int64_t first_frame = 0, last_frame = 0;  // frame numbers of the first and latest detection
  uint32_t frames = 0;                      // detections so far
  std::optional<Decision> decision;
  std::deque<Observation> recent;           // the last confirm_frames identifications
  std::optional<Box> embedded_box;          // box at the last identification
  int64_t embedded_frame = -1;
};

class Tracker {
 public:
  explicit Tracker(const TrackerOptions& options);

  // Associates this frame's detections (frame numbers increase) with the tracks, starts
  // tracks for the rest, drops tracks unseen for more than max_missed frames. Returns, for
  // each detection, the index of its track in tracks().
  std::vector<size_t> update(int64_t frame, const std::vector<Box>& detections);

  // Whether the track's face, detected this frame, should be embedded and identified.
  bool needs_identification(const Track& track, int64_t frame) const;

  // Records an identification; returns the decision when this one makes (or changes) it.
  std::optional<Decision> observe(size_t track, int64_t frame, Observation observation);

  const std::vector<Track>& tracks() const { return tracks_; }

 private:
  TrackerOptions options_;
  std::vector<Track> tracks_;
  uint64_t next_id_ = 1;
};

}  // namespace fg::apps::attend
