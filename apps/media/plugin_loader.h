// Finds and loads the media plugin (media.h) the first time a command needs it, so commands
// that never do (JPEG/PNG stills, the database, conversion) never load OpenCV's IO libraries.
#pragma once

#include <stdexcept>
#include <string>

#include "apps/media/media.h"

namespace fg::apps::media {

// The plugin could not be loaded; the message names the file tried and dlerror()'s reason.
class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the plugin is looked for: $FACEGATE_MEDIA_PLUGIN when set (that file only), else
// libfacegate_media.so beside the running executable, else in ../lib/facegate/ from it (the
// installed layout), else (for test programs, which live elsewhere) the one this build made.
// The first that exists; the one beside the executable when none does.
std::string plugin_path();

// The plugin, loaded on first use and kept for the life of the process. `purpose` says what
// needed it ("decode BMP", "read video") for the message of the PluginError thrown when it
// cannot be loaded; a failed load is tried again on the next call.
Media& plugin(const std::string& purpose);

}  // namespace fg::apps::media
