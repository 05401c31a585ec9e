// state_files.cpp — atomic creation of the broker's state files.
#include "state_files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

namespace broker {

void write_file_atomically(const std::string &path, const std::string &content) {
    // The pid in the temporary name keeps two brokers started by mistake on
    // the same directory from writing into one temporary file.
    const std::string temporary = path + ".tmp." + std::to_string(getpid());
    std::FILE *file = std::fopen(temporary.c_str(), "w");
    if (!file) throw std::runtime_error("cannot write " + temporary + ": " + std::strerror(errno));
    bool written = std::fwrite(content.data(), 1, content.size(), file) == content.size();
    written = (std::fflush(file) == 0) && written;
    written = (std::fclose(file) == 0) && written;
    if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::string message = "cannot write " + path + ": " + std::strerror(errno);
        std::remove(temporary.c_str());
        throw std::runtime_error(message);
    }
}

void remove_file(const std::string &path) {
    std::remove(path.c_str());
}

}  // namespace broker
