/*
 * copy_text_reader.h — rows of PostgreSQL's COPY text format.
 *
 * The database side exports the log and its checkpoint lines with
 * `COPY (...) TO STDOUT` (text format, the default): one row per line,
 * columns separated by TAB, `\N` for NULL, and backslash escapes for the
 * bytes that would break that framing.  This reader turns such a stream
 * back into fields, following PostgreSQL's own reader (copyfromparse.c,
 * CopyReadLineText and CopyReadAttributesText) rather than only what
 * COPY TO writes, so a file that went through other tools still decodes
 * the way `COPY FROM` would read it:
 *
 *   \\ \t \n \r \b \f \v    the usual control characters
 *   \ooo (1-3 octal digits), \xhh (1-2 hex digits)   any byte
 *   \ followed by anything else, even a raw TAB or newline: that character
 *   \N as the whole raw field: NULL (but \\N is the two characters \N)
 *   a line `\.`: end of data (COPY's end marker; nothing may follow it)
 *   CR LF line ends are accepted (an unescaped CR before the LF is dropped;
 *   COPY itself never writes a raw CR)
 *
 * Speed matters here (the whole log goes through it): the input is read in
 * large chunks, a field without a backslash is a view into the read
 * buffer (no copy), and decoded fields go into one scratch string reused
 * for every row.  So a row costs no allocation once the buffers have grown
 * to the longest row.
 */
#ifndef EVENTSTORE_VERIFY_COPY_TEXT_READER_H
#define EVENTSTORE_VERIFY_COPY_TEXT_READER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.h"

namespace eventstore::verify {

struct CopyField {
    std::string_view text; /* the decoded bytes; empty when null */
    bool null = false;
};

/*
 * Splits one line (without its line end) into decoded fields.  Decoded
 * fields live in `scratch`, which is reused: they stay valid until the next
 * call with the same scratch.  Exposed for the unit tests.
 */
void split_copy_line(std::string_view line, std::string &scratch, std::vector<CopyField> &fields);

class CopyTextReader {
public:
    static constexpr std::size_t kDefaultBufferSize = std::size_t{1} << 20;

    explicit CopyTextReader(ByteSource &source, std::size_t buffer_size = kDefaultBufferSize);

    /*
     * The next row's fields (valid until the next call), or false at the end
     * of the data.  Throws FormatError when something follows the `\.` end
     * marker, and whatever the source throws.
     */
    bool next_row(std::vector<CopyField> &fields);

    /* The 1-based line number of the row last returned. */
    std::uint64_t line_number() const { return line_number_; }
    /* Bytes consumed so far (all of the input once next_row returned false). */
    std::uint64_t bytes_read() const { return bytes_read_; }

private:
    bool next_line(std::string_view &line);
    bool fill();

    ByteSource &source_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;   /* first unconsumed byte */
    std::size_t end_ = 0;     /* end of the bytes read */
    std::size_t scanned_ = 0; /* bytes from begin_ known to hold no line end */
    bool eof_ = false;
    bool ended_ = false;      /* the `\.` marker was seen */
    std::uint64_t line_number_ = 0;
    std::uint64_t bytes_read_ = 0;
    std::string scratch_;
};

}  // namespace eventstore::verify

#endif
