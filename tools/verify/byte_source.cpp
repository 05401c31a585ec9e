/*
 * byte_source.cpp — see byte_source.h.  Plain POSIX read(2): the reader
 * asks for megabytes at a time, so stdio's own buffering would only add a
 * copy.
 */
#include "byte_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "errors.h"

namespace eventstore::verify {
namespace {

std::string describe_errno(const std::string &what, const std::string &path)
{
    return what + " \"" + path + "\": " + std::strerror(errno);
}

}  // namespace

FileSource::FileSource(const std::string &path) : path_(path), fd_(-1), owned_(path != "-")
{
    if (!owned_) {
        fd_ = STDIN_FILENO;
        path_ = "standard input";
        return;
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        throw InputError(describe_errno("could not open", path));
    /* A hint only: the log is read front to back once, so read-ahead pays. */
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

FileSource::~FileSource()
{
    if (owned_ && fd_ >= 0)
        ::close(fd_);
}

std::size_t FileSource::read(char *buffer, std::size_t capacity)
{
    for (;;) {
        const ssize_t n = ::read(fd_, buffer, capacity);
        if (n >= 0)
            return static_cast<std::size_t>(n);
        if (errno != EINTR)
            throw InputError(describe_errno("could not read", path_));
    }
}

std::size_t StringSource::read(char *buffer, std::size_t capacity)
{
    const std::size_t n = std::min({capacity, chunk_, bytes_.size() - offset_});
    std::memcpy(buffer, bytes_.data() + offset_, n);
    offset_ += n;
    return n;
}

std::string read_whole_file(const std::string &path)
{
    FileSource source(path);
    std::string content;
    char chunk[65536];
    for (;;) {
        const std::size_t n = source.read(chunk, sizeof chunk);
        if (n == 0)
            return content;
        content.append(chunk, n);
    }
}

}  // namespace eventstore::verify
