// The options every face-reading command shares (--model, --detector/--no-detect, --align,
// --min-face, --threads), parsed in one place so their help and checks agree.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "apps/cli.h"
#include "apps/face_pipeline.h"

namespace fg::apps {

// Option names for cli::Args (kFaceFlags: --no-detect, for the commands that allow it).
extern const std::set<std::string> kFaceValued;
extern const std::set<std::string> kFaceFlags;
// The lines of --help that describe them, descriptions from `column` (wrapped there to fit
// 80 columns); --no-detect's only when `no_detect`.
std::string face_help(int column, bool no_detect);

// --align MODE, if given; UsageError for an unknown mode.
std::optional<detect::Alignment> alignment_option(const cli::Args& args);

// Requires --model and exactly one of --detector FILE / --no-detect (only --detector when
// !no_detect_allowed).
FaceOptions face_options(const cli::Args& args, bool no_detect_allowed = true);

}  // namespace fg::apps
