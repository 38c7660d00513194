// One frame at a time: detect, track, identify the tracks that need it, and turn the tracks'
// decisions into events (attendance within the cooldown is suppressed; every unknown track is
// an event, with a thumbnail for review).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "apps/attend/annotate.h"
#include "apps/attend/capture.h"
#include "apps/attend/events.h"
#include "apps/face_pipeline.h"
#include "store/chroma/search.h"
#include "apps/attend/tracker.h"
#include "apps/gallery.h"

namespace fg::apps::attend {

struct AttendanceOptions {
  std::string camera;
  float threshold = 1;  // cosine; the command sets it (apps/threshold.h), until then no one matches
  double cooldown_s = 30;
  bool live = false;  // cooldown on the wall clock (and seeded from the DB) instead of the video's
  TrackerOptions tracker;
};

// Seconds spent in each stage, summed over frames.
struct StageTimes {
  double detect = 0, embed = 0, search = 0, record = 0;
};

struct AttendanceCounts {
  int64_t faces = 0;        // detections
  int64_t embedded = 0;     // of which embedded and identified
  int64_t attendance = 0, unknown = 0;
  int64_t suppressed = 0;   // attendance decisions inside the cooldown
};

class Attendance {
 public:
  // The references must outlive this object.
  Attendance(FacePipeline& faces, Gallery& gallery, EventLog& log, const AttendanceOptions& options);

  // Searches `central` (a shared ChromaDB gallery, facegate sync) instead of the local index;
  // events still go to the local store. `central` must outlive this object.
  void search_remotely(store::chroma::RemoteGallery* central) { central_ = central; }

  // Processes one frame; the events it decides are in the store (and the log) on return.
  // Returns what to draw.
  std::vector<Mark> process(const Frame& frame);

  const StageTimes& times() const { return times_; }
  const AttendanceCounts& counts() const { return counts_; }

 private:
  void record(const Frame& frame, const Track& track, const Decision& decision);
  const std::string& name_of(const std::string& id);

  FacePipeline& faces_;
  Gallery& gallery_;
  EventLog& log_;
  AttendanceOptions options_;
  Tracker tracker_;
  Cooldown cooldown_;
  std::map<std::string, std::string> names_;
  store::chroma::RemoteGallery* central_ = nullptr;
  StageTimes times_;
  AttendanceCounts counts_;
};

}  // namespace fg::apps::attend
