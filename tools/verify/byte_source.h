/*
 * byte_source.h — where the verifier's input bytes come from.
 *
 * The log can be hundreds of megabytes and is read exactly once, in large
 * chunks, by CopyTextReader; the unit tests feed the same reader from
 * memory.  ByteSource is the small interface between the two (one virtual
 * call per chunk, never per row).  The small inputs (checkpoint lines,
 * proofs) are read whole with read_whole_file().
 */
#ifndef EVENTSTORE_VERIFY_BYTE_SOURCE_H
#define EVENTSTORE_VERIFY_BYTE_SOURCE_H

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace eventstore::verify {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    /* Reads up to `capacity` bytes into `buffer`; 0 only at the end of the input. */
    virtual std::size_t read(char *buffer, std::size_t capacity) = 0;
};

/* A file, or standard input for "-".  Throws InputError when it cannot be opened or read. */
class FileSource : public ByteSource {
public:
    explicit FileSource(const std::string &path);
    ~FileSource() override;
    FileSource(const FileSource &) = delete;
    FileSource &operator=(const FileSource &) = delete;

    std::size_t read(char *buffer, std::size_t capacity) override;

private:
    std::string path_;
    int fd_;
    bool owned_;
};

/* Bytes held in memory, handed out at most `chunk` at a time (tests use tiny chunks). */
class StringSource : public ByteSource {
public:
    explicit StringSource(std::string bytes, std::size_t chunk = static_cast<std::size_t>(-1))
        : bytes_(std::move(bytes)), chunk_(chunk) {}
    std::size_t read(char *buffer, std::size_t capacity) override;

private:
    std::string bytes_;
    std::size_t chunk_;
    std::size_t offset_ = 0;
};

/* The whole content of a (small) file.  Throws InputError. */
std::string read_whole_file(const std::string &path);

}  // namespace eventstore::verify

#endif
