#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/atomic_file.h"
#include "apps/attend/events.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/report_time.h"
#include "apps/utf8.h"
#include "store/store.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate report --db DB [--since T] [--until T] [--camera C] [--per-day]\n"
    "                       [--csv FILE | --csv -] [--thumbnails DIR]\n"
    "\n"
    "Attendance from the events facegate attend recorded: per person the first and\n"
    "last time seen and the number of attendance events, then every unknown face, for\n"
    "review. Reads the DB without locking it, so it works while attend runs.\n"
    "T is a local date or time (2024-05-01, 2024-05-01T09:00, 2024-05-01 09:00:30) or\n"
    "one with a zone (...Z, ...+02:00); --since is inclusive, --until exclusive. A\n"
    "date or time that does not exist (2026-02-30, 25:00) is refused; so is a local\n"
    "time skipped when the clocks go forward (2026-03-29 02:30 in Europe/Berlin). In\n"
    "the hour repeated when they go back, a local time is the first of the two; give\n"
    "a zone (+01:00) for the other.\n"
    "\n"
    "options:\n"
    "  --db DIR          the facegate database\n"
    "  --since T         events at or after T\n"
    "  --until T         events before T\n"
    "  --camera C        only this camera's events\n"
    "  --per-day         also attendance per local day and person: count, first and\n"
    "                    last seen that day (the day where the event was logged)\n"
    "  --csv FILE        also write the report as CSV, one row per person\n"
    "                    ('attendance'), per day and person with --per-day ('day'),\n"
    "                    and per unknown event ('unknown'). Columns:\n"
    "                    kind,name,id,count,first_seen,last_seen,cameras,seq (unknown\n"
    "                    rows), day (day rows: the local date, YYYY-MM-DD). How many\n"
    "                    rows were written is told on stderr.\n"
    "  --csv -           the CSV on stdout instead; the text report is then not\n"
    "                    printed\n"
    "  --thumbnails DIR  save each unknown event's face as DIR/unknown-<seq>.jpg\n"
    "                    (owner-only, 0600: they are face images; DIR is made,\n"
    "                    owner-only, when missing); how many were saved, and how\n"
    "                    many unknown events have no thumbnail, is told on stderr\n"
    "  -h, --help        show this help\n";

// Quoted when needed; bytes that are not UTF-8 (a name stored by an older facegate) written as the
// text \xE9 (escape_invalid_utf8), so the CSV stays UTF-8.
std::string csv_field(const std::string& raw) {
  const std::string s = escape_invalid_utf8(raw);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

struct Person {
  std::string id, name;
  int64_t count = 0;
  const store::Event* first = nullptr;
  const store::Event* last = nullptr;
  std::map<std::string, int> cameras;
};

std::string join_cameras(const std::map<std::string, int>& cameras) {
  std::string out;
  for (const auto& [c, n] : cameras) out += (out.empty() ? "" : " ") + c;
  return out;
}

std::string when(const store::Event& e) { return attend::iso8601(e.time_us, e.utc_offset_s); }

void add(Person& p, const std::string& name, const store::Event& e) {
  p.name = name;
  p.id = e.identity_id.value_or("");
  ++p.count;
  if (!p.first) p.first = &e;
  p.last = &e;
  ++p.cameras[e.camera];
}

// The text report on stdout. Names and cameras are printable() (an older facegate may have stored bytes
// that are not UTF-8, and a tab or an escape sequence would break the table) and padded by display width.
void print_report(size_t n_events, const std::map<std::string, Person>& people,
                  const std::map<std::pair<std::string, std::string>, Person>& days,
                  const std::vector<const store::Event*>& unknown) {
  std::printf("%s: attendance of %s, %zu unknown\n", cli::count(n_events, "event", "events").c_str(),
              cli::count(people.size(), "person", "people").c_str(), unknown.size());
  if (!people.empty())
    std::printf("\n%-24s %6s  %-29s  %-29s  %s\n", "name", "count", "first seen", "last seen", "cameras");
  for (const auto& [name, p] : people) {
    std::printf("%s %6lld  %-29s  %-29s  %s\n", pad_right(printable(name), 24).c_str(), static_cast<long long>(p.count),
                when(*p.first).c_str(), when(*p.last).c_str(), printable(join_cameras(p.cameras)).c_str());
  }
  if (!days.empty()) std::printf("\nattendance per day:\n%-10s  %-24s %6s  %-10s  %-10s\n", "date", "name", "count",
                                 "first seen", "last seen");
  for (const auto& [key, d] : days) {
    std::printf("%-10s  %s %6lld  %-10s  %-10s\n", key.first.c_str(), pad_right(printable(d.name), 24).c_str(),
                static_cast<long long>(d.count), when(*d.first).substr(11, 8).c_str(),
                when(*d.last).substr(11, 8).c_str());
  }
  if (!unknown.empty())
    std::printf("\nunknown faces:\n%-29s  %-16s %6s %6s %8s\n", "time", "camera", "score", "frames", "seq");
  for (const store::Event* e : unknown) {
    std::printf("%-29s  %s %6.3f %6u %8llu\n", when(*e).c_str(), pad_right(printable(e->camera), 16).c_str(), e->score,
                e->frames, static_cast<unsigned long long>(e->seq));
  }
}

}  // namespace

int cmd_report(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db", "--since", "--until", "--camera", "--csv", "--thumbnails"},
                 {"--per-day", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s", kHelp);
    return 0;
  }
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  const int64_t since = args.has("--since") ? parse_report_time("--since", args.get("--since")) : INT64_MIN;
  const int64_t until = args.has("--until") ? parse_report_time("--until", args.get("--until")) : INT64_MAX;
  if (since >= until)
    throw cli::UsageError("--since " + args.get("--since") + " is not before --until " + args.get("--until") +
                          ": no event can be in between");
  const std::string thumbs = args.get("--thumbnails");
  const bool want_csv = args.has("--csv");
  const std::string csv_path = args.get("--csv");
  const bool csv_to_stdout = want_csv && csv_path == "-";  // then stdout holds the CSV only
  if (want_csv && csv_path.empty()) throw cli::UsageError("--csv: expected a file name or '-' (stdout)");

  store::OpenOptions so;
  so.read_only = true;
  const store::Store s = store::Store::open(db, so);
  const std::vector<store::Event> events = s.events(since, until, args.get("--camera"));

  // Where the files go is checked (DIR made, owner-only) before anything is printed, so a
  // bad path does not stop the report half-way.
  if (!thumbs.empty()) make_output_dir("--thumbnails", thumbs, /*owner_only=*/true);
  if (want_csv && !csv_to_stdout) check_output_folder("--csv", csv_path);

  const bool per_day = args.flag("--per-day");
  // By name (in NFC: events logged before names were kept so, or from a remote gallery, may
  // spell one in another form), for a readable order.
  std::map<std::string, Person> people;
  std::map<std::pair<std::string, std::string>, Person> days;  // by (date, name)
  std::vector<const store::Event*> unknown;
  for (const store::Event& e : events) {
    if (e.kind == store::EventKind::unknown) {
      unknown.push_back(&e);
      continue;
    }
    const std::string name = store::normalize_name(e.name);
    add(people[name], name, e);
    // The local date the event was logged with: ISO 8601's first ten characters.
    if (per_day) add(days[{when(e).substr(0, 10), name}], name, e);
  }

  if (!csv_to_stdout) print_report(events.size(), people, days, unknown);

  if (!thumbs.empty()) {
    size_t saved = 0, without = 0;
    for (const store::Event* e : unknown) {
      if (e->thumbnail_jpeg.empty()) {
        ++without;
        continue;
      }
      // A face image: owner-only, like the DB it comes from.
      write_file_atomic(thumbs + "/unknown-" + std::to_string(e->seq) + ".jpg",
                        std::string(e->thumbnail_jpeg.begin(), e->thumbnail_jpeg.end()), /*owner_only=*/true);
      ++saved;
    }
    std::string told = "facegate report: saved " + cli::count(saved, "unknown face", "unknown faces") + " to " + thumbs;
    if (without) told += "; " + cli::count(without, "unknown event has", "unknown events have") + " no thumbnail";
    std::fprintf(stderr, "%s\n", told.c_str());
  }

  if (want_csv) {
    std::string csv = "kind,name,id,count,first_seen,last_seen,cameras,seq,day\n";
    for (const auto& [name, p] : people) {
      csv += "attendance," + csv_field(name) + "," + csv_field(p.id) + "," + std::to_string(p.count) + "," +
             when(*p.first) + "," + when(*p.last) + "," + csv_field(join_cameras(p.cameras)) + ",,\n";
    }
    for (const auto& [key, d] : days) {
      csv += "day," + csv_field(d.name) + "," + csv_field(d.id) + "," + std::to_string(d.count) + "," + when(*d.first) +
             "," + when(*d.last) + "," + csv_field(join_cameras(d.cameras)) + ",," + key.first + "\n";
    }
    for (const store::Event* e : unknown) {
      csv += "unknown,,,1," + when(*e) + "," + when(*e) + "," + csv_field(e->camera) + "," + std::to_string(e->seq) +
             ",\n";
    }
    if (csv_to_stdout) {
      if (std::fwrite(csv.data(), 1, csv.size(), stdout) != csv.size() || std::fflush(stdout) != 0)
        throw std::runtime_error(std::string("--csv stdout: write failed: ") + std::strerror(errno));
    } else {
      write_file_atomic(csv_path, csv);
    }
    const size_t rows = people.size() + days.size() + unknown.size();
    std::fprintf(stderr, "facegate report: wrote %s to %s\n", cli::count(rows, "row", "rows").c_str(),
                 csv_to_stdout ? "stdout" : csv_path.c_str());
  }
  return 0;
}

}  // namespace fg::apps
