// The options every face-reading command shares (--model, --detector/--no-detect, --align,
// --min-face, --threads), parsed in one place so their help and checks agree.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "apps/cli.h"
#include "apps/face_pipeline.h"

namespace fg::apps {

// Option names for cli::Args.
extern const std::set<std::string> kFaceValued;
extern const std::set<std::string> kFaceFlags;
// The lines of --help that describe them.
extern const char* const kFaceHelp;

// --align MODE, if given; UsageError for an unknown mode.
std::optional<detect::Alignment> alignment_option(const cli::Args& args);

// Requires --model and exactly one of --detector FILE / --no-detect.
FaceOptions face_options(const cli::Args& args);

}  // namespace fg::apps
