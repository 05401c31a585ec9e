// state_files.h — the files through which scripts find a running broker in
// its state directory: DIR/bootstrap (the bootstrap string, present only
// while the broker is ready) and DIR/pid.
#pragma once

#include <string>

namespace broker {

// Writes `content` to `path` so that readers see either no file or the whole
// content, never a partial one: write a temporary file beside it, then
// rename() over `path`.  Throws std::runtime_error on failure.
void write_file_atomically(const std::string &path, const std::string &content);

// Removes `path`; a missing file is not an error.
void remove_file(const std::string &path);

}  // namespace broker
