#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "apps/atomic_file.h"
#include "apps/attend/annotate.h"
#include "apps/attend/attendance.h"
#include "apps/attend/capture.h"
#include "apps/attend/events.h"
#include "apps/chroma_option.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/face_options.h"
#include "apps/gallery.h"
#include "apps/progress.h"
#include "apps/retention.h"
#include "apps/threshold.h"
#include "apps/utf8.h"
#include "store/chroma/endpoint.h"
#include "store/chroma/search.h"
#include "store/clock.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate attend --source SRC --db DB --model MODEL.fgw\n"
    "                       --detector MTCNN.fgw [--camera-id NAME] [--threshold T]\n"
    "                       [--cooldown S] [--confirm-frames N]\n"
    "                       [--events FILE.jsonl | --events -] [--display]\n"
    "                       [--output VIDEO] [--index chroma://HOST:PORT/COLLECTION]\n"
    "                       [--retention DAYS] [--reconnect] [--stream-timeout S]\n"
    "                       [--align MODE] [--min-face N] [--threads N]\n"
    "\n"
    "Attendance from a camera or a video: every frame is searched for faces, faces\n"
    "are followed from frame to frame, and once a face has been identified the same\n"
    "way in --confirm-frames frames it becomes an event: 'attendance' for an enrolled\n"
    "person (at most one per person per --cooldown seconds), 'unknown' for anyone\n"
    "else (with a thumbnail, for review with facegate report). Each event is written\n"
    "durably to DB before it is reported.\n"
    "\n"
    "SRC is a camera index (0 = /dev/video0), a video file, or a stream URL\n"
    "(rtsp://... or http://...). Cameras and streams are live: when recognition is\n"
    "slower than the camera, frames are dropped (and counted), never queued. A file\n"
    "is read frame by frame and its cooldown runs on the video's own clock, so the\n"
    "result does not depend on the machine's speed; its progress is told on stderr at\n"
    "every tenth of its frames. Stops at the end of a file, on SIGINT/SIGTERM\n"
    "(Ctrl-C), or Esc in the window, with a summary on stderr and exit status 0 (1\n"
    "when the source fails: a camera or stream that ends, or a stream that sends\n"
    "nothing for --stream-timeout seconds; with --reconnect it is opened again\n"
    "instead, as often as it takes). A second Ctrl-C ends it at once (the events so\n"
    "far are already in DB). Headless unless --display.\n"
    "\n"
    "--events streams one JSON line per event:\n"
    "  {\"time\": ISO 8601 with zone, \"camera\", \"kind\": \"attendance\" | \"unknown\",\n"
    "   \"id\": ID | null, \"name\": NAME | null, \"score\": cosine, \"frames\": N,\n"
    "   \"video_time\": seconds into a file | null, \"seq\": the event's number in DB}\n"
    "\n"
    "options:\n"
    "  --source SRC        camera index, video file or stream URL (required)\n"
    "  --db DIR            the facegate database (created by facegate enroll)\n"
    "  --index URL         search this ChromaDB collection (a central gallery shared\n"
    "                      by many doors, see facegate sync) instead of DB's index;\n"
    "                      DB then keeps this door's events (it is created if\n"
    "                      missing)\n"
    "  --camera-id NAME    names this camera/door in the events (default: SRC)\n"
    "  --threshold T       cosine similarity (-1..1) below which a face is unknown\n"
    "                      (default: the DB's calibrated threshold, else the model's:\n"
    "                      0.5 for resnet50-arcface, 0.91 for dlib-resnet)\n"
    "  --cooldown S        seconds between two attendance events of one person\n"
    "                      (default 30)\n"
    "  --confirm-frames N  agreeing frames before a face is decided (default 3)\n"
    "  --events FILE       append events as JSON lines to FILE ('-' = stdout)\n"
    "  --display           show the annotated video in a window (needs a display)\n"
    "  --output VIDEO      write the annotated video: VIDEO.avi (MJPG) or VIDEO.mp4\n"
    "                      (MPEG-4); it leaves 64 MiB free on its disk: it is closed\n"
    "                      early there (exit status 1), and attend will not start\n"
    "                      with less free\n"
    "  --retention DAYS    drop events (and their face thumbnails) older than DAYS\n"
    "                      from DB at start and every 10 minutes while running;\n"
    "                      prints what it dropped (facegate prune does the same from\n"
    "                      cron)\n"
    "  --reconnect         when a camera or stream stops, open it again after 1, 2,\n"
    "                      4, ... up to 30 s, until it is back (each outage is told\n"
    "                      on stderr and counted in the summary); one that cannot be\n"
    "                      opened at start is waited for the same way\n"
    "  --stream-timeout S  seconds without data after which a stream URL has stopped\n"
    "                      (default 30; also the longest wait to open it)\n";

// Often enough that a door running for months keeps to its retention within minutes.
constexpr std::chrono::minutes kRetentionEvery{10};

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  g_signal = sig;
  g_stop = true;
}

double parse_seconds(const cli::Args& args, const std::string& name, double fallback, double min = 0,
                     double max = 1e7) {
  if (!args.has(name)) return fallback;
  const std::string text = args.get(name);
  try {
    size_t used = 0;
    const double s = std::stod(text, &used);
    if (used == text.size() && s >= min && s <= max) return s;
  } catch (const std::exception&) {
  }
  char range[64];
  std::snprintf(range, sizeof range, "%.10g to %.10g", min, max);
  throw cli::UsageError(name + ": got '" + text + "', expected seconds from " + range);
}

// --output's name and folder, checked before the source is opened: the writer itself only
// opens at the first frame, and OpenCV says nothing about why it cannot.
void check_output(const std::string& output) {
  namespace fs = std::filesystem;
  const std::string ext = cli::lowercase_extension(output);
  if (ext != ".avi" && ext != ".mp4")
    throw cli::UsageError("--output " + output + ": expected a .avi (MJPG) or .mp4 (MPEG-4) file name");
  std::error_code ec;
  if (fs::is_directory(output, ec)) throw std::runtime_error("--output " + output + ": is a directory");
  check_output_folder("--output", output);
  const std::optional<uint64_t> free = attend::Annotator::free_space(output);
  if (free && *free < attend::Annotator::kOutputReserve)
    throw std::runtime_error("--output " + output + ": only " + std::to_string(*free >> 20) +
                             " MiB free on its disk; attend keeps " +
                             std::to_string(attend::Annotator::kOutputReserve >> 20) +
                             " MiB free there for the events");
}

double percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

}  // namespace

int cmd_attend(int argc, char** argv) {
  std::set<std::string> valued = kFaceValued, flags;
  valued.insert({"--source", "--db", "--index", "--camera-id", "--threshold", "--cooldown", "--confirm-frames",
                 "--events", "--output", "--retention", "--stream-timeout"});
  flags.insert({"--display", "--reconnect", "-h", "--help"});
  cli::Args args(argc, argv, valued, flags);
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s%s  -h, --help          show this help\n", kHelp, face_help(22, false).c_str());
    return 0;
  }
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string source = args.get("--source");
  if (source.empty()) throw cli::UsageError("missing --source SRC");
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  const FaceOptions face_opts = face_options(args, /*no_detect_allowed=*/false);
  attend::AttendanceOptions opts;
  opts.camera = args.get("--camera-id", source);
  if (opts.camera.empty())
    throw cli::UsageError("--camera-id: got an empty name, expected the camera's or door's name");
  opts.cooldown_s = parse_seconds(args, "--cooldown", 30);
  opts.tracker.confirm_frames = args.get_int("--confirm-frames", 3, 1, 1000);
  const std::optional<double> retention = parse_retention(args);
  if (args.has("--output")) check_output(args.get("--output"));
  const attend::SourceKind kind = attend::source_kind(source);
  if (args.flag("--reconnect") && kind == attend::SourceKind::file)
    throw cli::UsageError("--reconnect: '" + source + "' is a video file; it applies to cameras and stream URLs");
  if (args.has("--stream-timeout") && kind != attend::SourceKind::stream)
    throw cli::UsageError("--stream-timeout: '" + source + "' is not a stream URL (rtsp://, http://, ...)");
  attend::CaptureOptions capture_options;
  capture_options.reopen = args.flag("--reconnect");
  capture_options.stream_timeout_ms = static_cast<int>(1000 * parse_seconds(args, "--stream-timeout", 30, 0.1, 300));
  capture_options.notice = [](const std::string& what) { std::fprintf(stderr, "facegate attend: %s\n", what.c_str()); };

  std::optional<store::chroma::Endpoint> index_at;
  if (args.has("--index")) index_at = chroma_endpoint(args, "--index");

  FacePipeline faces(face_opts);
  GalleryOptions go;
  go.model_id = faces.model_id();
  go.create = index_at.has_value();  // with a central gallery the local DB only keeps events
  Gallery gallery = Gallery::open(db, go);
  std::optional<store::chroma::RemoteGallery> central;
  if (index_at)
    central.emplace(store::chroma::Client(*index_at), index_at->collection, static_cast<uint32_t>(faces.dim()),
                    faces.model_id());
  const Threshold threshold = pick_threshold(args, gallery.store().threshold(), faces.model_id());
  opts.threshold = threshold.value;
  attend::EventLog log(gallery.store(), args.get("--events"));
  const auto prune = [&] {
    if (retention)
      std::fprintf(stderr, "facegate attend: retention: %s\n",
                   apply_retention(gallery.store(), *retention, store::detail::now_us()).c_str());
  };
  prune();

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills outright (events are already durable)
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  attend::Capture capture(source, g_stop, capture_options);
  opts.live = capture.live();
  attend::Attendance attendance(faces, gallery, log, opts);
  if (central) attendance.search_remotely(&*central);
  attend::Annotator annotator(args.flag("--display"), args.get("--output"), capture.fps());
  char shape[64] = "not open yet";
  if (capture.size().width > 0)
    std::snprintf(shape, sizeof shape, "%dx%d, %.3g fps", capture.size().width, capture.size().height, capture.fps());
  std::fprintf(stderr,
               "facegate attend: camera '%s', %s source %s (%s); threshold %s (%s), cooldown %gs, "
               "confirm %s\n",
               printable(opts.camera).c_str(), opts.live ? "live" : "file", printable(source).c_str(), shape,
               threshold_text(opts.threshold).c_str(), describe(threshold, faces.model_id()).c_str(),
               opts.cooldown_s, cli::count(opts.tracker.confirm_frames, "frame", "frames").c_str());
  const std::string warning = uncalibrated_warning(threshold, faces.model_id());
  if (!warning.empty()) std::fprintf(stderr, "facegate attend: %s\n", warning.c_str());

  // A file whose header gives its length: a line per tenth of it (lines, not a bar: events
  // may go to the same terminal).
  std::optional<Progress> progress;
  if (!opts.live && capture.stats().declared > 0)
    progress.emplace("facegate attend: frames", static_cast<size_t>(capture.stats().declared), Progress::Style::lines);
  const auto start = std::chrono::steady_clock::now();
  auto last_prune = start;
  double fps = 0;
  attend::Frame frame;
  attend::Capture::Next got;
  // A second's patience: a camera that is down must not hold up the retention.
  while (!annotator.quit() && (got = capture.next(frame, std::chrono::seconds(1))) != attend::Capture::Next::ended) {
    const auto t0 = std::chrono::steady_clock::now();
    if (retention && t0 - last_prune >= kRetentionEvery) {
      prune();
      last_prune = t0;
    }
    if (got == attend::Capture::Next::none_yet) {
      annotator.idle();  // the window stays live (and Esc works) while the source is down
      continue;
    }
    const std::vector<attend::Mark> marks = attendance.process(frame);
    if (annotator.active()) annotator.add(frame.image, marks, fps);
    if (progress) progress->reach(static_cast<size_t>(frame.number + 1));
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fps = dt > 0 ? (fps == 0 ? 1 / dt : 0.9 * fps + 0.1 / dt) : fps;
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const attend::CaptureStats cs = capture.stats();
  const attend::AttendanceCounts& c = attendance.counts();
  const attend::StageTimes& t = attendance.times();
  const std::string why = g_signal ? (g_signal == SIGINT ? "SIGINT" : "SIGTERM")
                          : annotator.quit() ? "window closed"
                          : !capture.error().empty() ? capture.error()
                          : "end of " + std::string(opts.live ? "stream" : "file");
  std::fprintf(
      stderr,
      "facegate attend: stopped (%s): %s (%lld dropped, %lld unreadable), %s (%lld embedded), "
      "%s (%lld attendance, %lld unknown; %s within cooldown), mean %.1f FPS; time in "
      "detection %.0f%%, embedding %.0f%%, search %.1f%%, event writes %.1f%%\n",
      why.c_str(), cli::count(cs.frames, "frame", "frames").c_str(), static_cast<long long>(cs.dropped),
      static_cast<long long>(cs.unreadable), cli::count(c.faces, "face", "faces").c_str(),
      static_cast<long long>(c.embedded), cli::count(c.attendance + c.unknown, "event", "events").c_str(),
      static_cast<long long>(c.attendance), static_cast<long long>(c.unknown),
      cli::count(c.suppressed, "repeat", "repeats").c_str(), elapsed > 0 ? cs.frames / elapsed : 0.0,
      percent(t.detect, elapsed), percent(t.embed, elapsed), percent(t.search, elapsed), percent(t.record, elapsed));
  if (capture_options.reopen && !cs.opened)
    std::fprintf(stderr, "facegate attend: the source never opened\n");
  else if (capture_options.reopen)
    std::fprintf(stderr, "facegate attend: the source stopped and was opened again %s\n",
                 cli::count(cs.reopened, "time", "times").c_str());
  if (!opts.live && cs.unreadable > 0)
    std::fprintf(stderr,
                 "facegate attend: warning: %s of '%s' could not be decoded: the file may be damaged\n",
                 cli::count(cs.unreadable, "frame", "frames").c_str(), printable(source).c_str());
  if (!opts.live && !g_signal && !annotator.quit() && capture.ended_early())
    std::fprintf(stderr,
                 "facegate attend: warning: '%s' ended after %lld of the %s its header declares: the file may "
                 "be cut short or damaged\n",
                 printable(source).c_str(), static_cast<long long>(cs.read),
                 cli::count(cs.declared, "frame", "frames").c_str());
  if (annotator.output_cut() && annotator.frames_written() == 0)
    std::fprintf(stderr, "facegate attend: --output %s was not written: its disk was nearly full\n",
                 args.get("--output").c_str());
  else if (annotator.output_cut())
    std::fprintf(stderr, "facegate attend: --output %s holds only the first %s: its disk was nearly full\n",
                 args.get("--output").c_str(), cli::count(annotator.frames_written(), "frame", "frames").c_str());
  if (!g_signal && !capture.error().empty()) return 1;  // a signal during an outage is a normal stop
  if (cs.frames == 0 && !g_signal) {
    std::fprintf(stderr, "facegate attend: source '%s' gave no frames\n", printable(source).c_str());
    return 1;
  }
  return annotator.output_cut() ? 1 : 0;
}

}  // namespace fg::apps
