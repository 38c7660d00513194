// facegate: offline face recognition for attendance and access control.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/media/plugin_loader.h"
#include "nn/gemm.h"

namespace {

constexpr const char* kUsage =
    "usage: facegate <command> [options]\n"
    "\n"
    "commands:\n"
    "  convert   convert model weights (model.pt, MTCNN, dlib) to a .fgw file\n"
    "  embed     compute face embeddings of images with a converted model\n"
    "  detect    find faces (boxes, probabilities, landmarks) with MTCNN\n"
    "  enroll    enroll people from GALLERY_DIR/<name>/<images>; Top-K with --probes\n"
    "  identify  name the faces in images against the enrolled gallery\n"
    "  list      list the enrolled identities\n"
    "  forget    remove an identity and its face data (remotely at the next sync)\n"
    "  export-person\n"
    "            write all that is held about one person to JSON (right of access)\n"
    "  calibrate choose the open-set threshold from the enrolled images\n"
    "  attend    log attendance from a camera, stream or video file\n"
    "  report    attendance per person and unknown faces, from the logged events\n"
    "  sync      push the gallery to / pull it from ChromaDB and MongoDB\n"
    "  prune     drop events and face thumbnails older than --retention DAYS\n"
    "  version   print the version, the CPU's GEMM kernels and the media plugin\n"
    "\n"
    "Run 'facegate <command> --help' or 'facegate help <command>' for its options.\n";

struct Command {
  const char* name;
  int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"convert", fg::apps::cmd_convert},
    {"embed", fg::apps::cmd_embed},
    {"detect", fg::apps::cmd_detect},
    {"enroll", fg::apps::cmd_enroll},
    {"identify", fg::apps::cmd_identify},
    {"list", fg::apps::cmd_list},
    {"forget", fg::apps::cmd_forget},
    {"calibrate", fg::apps::cmd_calibrate},
    {"attend", fg::apps::cmd_attend},
    {"report", fg::apps::cmd_report},
    {"sync", fg::apps::cmd_sync},
    {"export-person", fg::apps::cmd_export_person},
    {"prune", fg::apps::cmd_prune},
};

// The fast kernels are compiled for AVX2 + FMA: say so instead of dying on SIGILL.
bool cpu_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// `args` are the arguments after "version".
int print_version(int argc, char** args) {
  if (argc > 0 && (!std::strcmp(args[0], "--help") || !std::strcmp(args[0], "-h"))) {
    std::printf("usage: facegate version\n\nPrints the version, the GEMM kernels picked for this CPU and\n"
                "the path of the media plugin the commands would load.\n");
    return 0;
  }
  if (argc > 0) {
    std::fprintf(stderr, "facegate version: unexpected argument '%s' (see 'facegate version --help')\n", args[0]);
    return 2;
  }
  std::printf("facegate %s\n", FACEGATE_VERSION);
  // The GEMM tiles are picked once at start-up from the CPU's features (nn/gemm.h).
  if (cpu_supported()) std::printf("kernels: %s\n", fg::nn::gemm_kernel_name(fg::nn::gemm_kernel()));
  // Which plugin the commands that need one would load (not loaded here).
  const std::string plugin = fg::apps::media::plugin_path();
  std::error_code ec;
  std::printf("media plugin: %s%s\n", plugin.c_str(), std::filesystem::exists(plugin, ec) ? "" : " (not found)");
  return 0;
}

// Runs command `name` with the arguments that follow it; errors become messages and exit codes.
int dispatch(const std::string& name, int argc, char** args) {
  if (name == "version" || name == "--version") return print_version(argc, args);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    if (!cpu_supported()) {
      std::fprintf(stderr, "facegate: this CPU lacks AVX2/FMA, which this build requires "
                           "(rebuild with -DFACEGATE_ARCH=<your -march>)\n");
      return 1;
    }
    try {
      return c.run(argc, args);
    } catch (const fg::cli::UsageError& e) {
      std::fprintf(stderr, "facegate %s: %s (see 'facegate %s --help')\n", c.name, e.what(), c.name);
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "facegate %s: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "facegate: unknown command '%s'\n\n%s", name.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && !std::strcmp(argv[1], "help")) {  // "facegate help CMD" is "facegate CMD --help"
    char help_flag[] = "--help";
    char* help_args[] = {help_flag, nullptr};
    return dispatch(argv[2], 1, help_args);
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  return dispatch(argv[1], argc - 2, argv + 2);
}
