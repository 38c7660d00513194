// Reading images from disk for the commands: one place that turns every way a file can fail
// to be an image into a short reason, so one bad file never stops a batch.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace fg::apps {

// Decodes `path` as 8-bit BGR. On failure returns an empty Mat and sets `why` ("no such
// file", "not a regular file", "cannot decode: ...").
cv::Mat read_image(const std::string& path, std::string& why);

}  // namespace fg::apps
