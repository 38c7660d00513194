#include "apps/attend/attendance.h"

#include <chrono>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "apps/media/plugin_loader.h"

namespace fg::apps::attend {
namespace {

constexpr int kThumbnailSide = 112;
constexpr float kThumbnailMargin = 0.25f;

class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

// The face with a margin, at most kThumbnailSide on its longer side, as JPEG.
std::vector<uint8_t> thumbnail(const cv::Mat& image, const Box& b) {
  const float mx = (b[2] - b[0]) * kThumbnailMargin, my = (b[3] - b[1]) * kThumbnailMargin;
  const cv::Rect r = cv::Rect(cv::Point(static_cast<int>(b[0] - mx), static_cast<int>(b[1] - my)),
                              cv::Point(static_cast<int>(b[2] + mx), static_cast<int>(b[3] + my))) &
                     cv::Rect(0, 0, image.cols, image.rows);
  if (r.empty()) return {};
  cv::Mat crop = image(r);
  const double scale = static_cast<double>(kThumbnailSide) / std::max(r.width, r.height);
  if (scale < 1) cv::resize(crop, crop, {}, scale, scale, cv::INTER_AREA);
  std::vector<uint8_t> jpeg;
  media::plugin("encode thumbnails").encode_jpeg(crop, 85, jpeg);
  return jpeg;
}

}  // namespace

Attendance::Attendance(FacePipeline& faces, Gallery& gallery, EventLog& log, const AttendanceOptions& options)
    : faces_(faces), gallery_(gallery), log_(log), options_(options), tracker_(options.tracker),
      cooldown_(options.cooldown_s) {
  if (!options.live) return;
  // A restart must not log again who was just logged: the wall clock spans runs.
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const auto window = static_cast<int64_t>(options.cooldown_s * 1e6);
  for (const store::Event& e : gallery_.store().events(now - window, INT64_MAX, options.camera)) {
    if (e.kind == store::EventKind::attendance && e.identity_id) cooldown_.seen(*e.identity_id, e.time_us / 1e6);
  }
}

const std::string& Attendance::name_of(const std::string& id) {
  auto it = names_.find(id);
  if (it == names_.end()) {
    const auto who = gallery_.store().get_identity(id);
    it = names_.emplace(id, who ? who->name : id).first;
  }
  return it->second;
}

std::vector<Mark> Attendance::process(const Frame& frame) {
  std::vector<detect::Face> found;
  {
    Stopwatch sw(times_.detect);
    found = faces_.detect(frame.image);
  }
  counts_.faces += static_cast<int64_t>(found.size());
  std::vector<Box> boxes;
  for (const auto& f : found) boxes.push_back(f.box);
  const std::vector<size_t> track_of = tracker_.update(frame.number, boxes);

  std::vector<size_t> todo;  // detections to identify
  std::vector<detect::Face> todo_faces;
  for (size_t d = 0; d < found.size(); ++d) {
    if (tracker_.needs_identification(tracker_.tracks()[track_of[d]], frame.number)) {
      todo.push_back(d);
      todo_faces.push_back(found[d]);
    }
  }
  std::vector<std::vector<float>> embeddings;
  {
    Stopwatch sw(times_.embed);
    embeddings = faces_.embed(frame.image, todo_faces);
  }
  counts_.embedded += static_cast<int64_t>(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) {
    Observation o;
    {
      Stopwatch sw(times_.search);
      if (central_) {
        const auto m = central_->search(embeddings[i], 1);
        if (!m.empty()) {
          names_.emplace(m.front().identity_id, m.front().name);  // the central gallery's name
          o.score = m.front().score;
          if (o.score >= options_.threshold) o.label = m.front().identity_id;
        }
      } else {
        const index::Identification r = gallery_.index().identify(embeddings[i], 1, options_.threshold);
        if (!r.unknown) o.label = r.matches.front().identity_id;
        if (!r.matches.empty()) o.score = r.matches.front().score;
      }
    }
    const size_t t = track_of[todo[i]];
    if (auto decision = tracker_.observe(t, frame.number, std::move(o))) {
      Stopwatch sw(times_.record);
      record(frame, tracker_.tracks()[t], *decision);
    }
  }

  std::vector<Mark> marks;
  for (size_t d = 0; d < found.size(); ++d) {
    const Track& t = tracker_.tracks()[track_of[d]];
    Mark m;
    m.box = t.box;
    if (!t.decision) {
      m.text = "?";
    } else if (t.decision->label.empty()) {
      m.state = Mark::State::unknown;
      m.text = "unknown";
    } else {
      m.state = Mark::State::known;
      char score[16];
      std::snprintf(score, sizeof score, " %.2f", t.decision->score);
      m.text = name_of(t.decision->label) + score;
    }
    marks.push_back(std::move(m));
  }
  return marks;
}

void Attendance::record(const Frame& frame, const Track& track, const Decision& decision) {
  const bool known = !decision.label.empty();
  if (known) {
    const double clock = options_.live ? frame.time_us / 1e6 : frame.video_time_s;
    if (!cooldown_.admit(decision.label, clock)) {
      ++counts_.suppressed;
      return;
    }
  }
  store::Event e;
  e.time_us = frame.time_us;
  e.utc_offset_s = local_utc_offset(frame.time_us);
  e.camera = options_.camera;
  e.kind = known ? store::EventKind::attendance : store::EventKind::unknown;
  if (known) {
    e.identity_id = decision.label;
    e.name = name_of(decision.label);
  }
  e.score = decision.score;
  e.frames = track.frames;
  if (!options_.live) e.video_time_s = frame.video_time_s;
  e.thumbnail_jpeg = thumbnail(frame.image, track.box);
  log_.record(e);
  ++(known ? counts_.attendance : counts_.unknown);
}

}  // namespace fg::apps::attend
