/*
 * copy_text_reader.cpp — see copy_text_reader.h.
 *
 * Framing: a TAB or newline ends a field or row unless a backslash escapes
 * it.  Whether one is escaped is decided by the run of backslashes right
 * before it: `\\` pairs are escaped backslashes, so an odd run leaves one
 * backslash that escapes the character.  (The character before the run is
 * not a backslash and so cannot pair with it, whatever it is.)  The common
 * case, a newline or TAB not preceded by a backslash, costs one comparison.
 */
#include "copy_text_reader.h"

#include <cstring>

#include "errors.h"

namespace eventstore::verify {
namespace {

/* Is the byte at `at` escaped, looking back no further than `begin`? */
bool is_escaped(const char *begin, const char *at)
{
    std::size_t run = 0;
    while (at > begin && at[-1] == '\\') {
        --at;
        ++run;
    }
    return (run & 1) != 0;
}

int octal_value(char c) { return c >= '0' && c <= '7' ? c - '0' : -1; }

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes the field starting at `p` into `out` until an unescaped TAB or
 * `end`; returns where it stopped.  The rules are CopyReadAttributesText's.
 * Runs between backslashes are copied whole (JSON text escapes its own
 * quotes and backslashes, so a data field may hold many of them).
 */
const char *decode_field(const char *p, const char *end, std::string &out)
{
    const char *tab = static_cast<const char *>(std::memchr(p, '\t', end - p));
    if (tab == nullptr)
        tab = end;
    for (;;) {
        if (tab < p) { /* the TAB we knew of was escaped: find the next one */
            tab = static_cast<const char *>(std::memchr(p, '\t', end - p));
            if (tab == nullptr)
                tab = end;
        }
        const auto *backslash = static_cast<const char *>(std::memchr(p, '\\', tab - p));
        if (backslash == nullptr) {
            out.append(p, tab - p);
            return tab;
        }
        out.append(p, backslash - p);
        p = backslash + 1;
        if (p == end) { /* a lone backslash at the very end of the input: keep it */
            out.push_back('\\');
            return end;
        }
        const char c = *p++;
        switch (c) {
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x': {
            /* \x without a hex digit after it is just 'x', as in PostgreSQL. */
            int value = p < end ? hex_value(*p) : -1;
            if (value < 0) {
                out.push_back('x');
                break;
            }
            ++p;
            if (p < end && hex_value(*p) >= 0)
                value = value * 16 + hex_value(*p++);
            out.push_back(static_cast<char>(value));
            break;
        }
        default:
            if (octal_value(c) >= 0) {
                int value = octal_value(c);
                for (int digits = 1; digits < 3 && p < end && octal_value(*p) >= 0; ++digits)
                    value = value * 8 + octal_value(*p++);
                out.push_back(static_cast<char>(value & 0xff));
            } else {
                out.push_back(c); /* any other escaped character, TAB and newline included, is itself */
            }
        }
    }
}

}  // namespace

void split_copy_line(std::string_view line, std::string &scratch, std::vector<CopyField> &fields)
{
    fields.clear();
    scratch.clear();
    /* Decoding never lengthens a field, so the scratch never reallocates
       while earlier fields of this row point into it. */
    scratch.reserve(line.size());
    const char *p = line.data();
    const char *const end = p + line.size();
    for (;;) {
        const auto *tab = static_cast<const char *>(std::memchr(p, '\t', end - p));
        const char *raw_end = tab != nullptr ? tab : end;
        const char *field_end;
        if (std::memchr(p, '\\', raw_end - p) == nullptr) {
            /* The common case: nothing escaped, the field is the raw bytes. */
            fields.push_back(CopyField{std::string_view(p, raw_end - p), false});
            field_end = raw_end;
        } else if (raw_end - p == 2 && p[0] == '\\' && p[1] == 'N') {
            fields.push_back(CopyField{std::string_view(), true});
            field_end = raw_end;
        } else {
            const std::size_t start = scratch.size();
            field_end = decode_field(p, end, scratch);
            fields.push_back(CopyField{std::string_view(scratch.data() + start, scratch.size() - start), false});
        }
        if (field_end == end)
            return;
        p = field_end + 1; /* past the TAB */
    }
}

CopyTextReader::CopyTextReader(ByteSource &source, std::size_t buffer_size)
    : source_(source), buffer_(buffer_size < 16 ? 16 : buffer_size)
{
}

bool CopyTextReader::fill()
{
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == buffer_.size()) /* one line longer than the buffer: grow it */
        buffer_.resize(buffer_.size() * 2);
    const std::size_t n = source_.read(buffer_.data() + end_, buffer_.size() - end_);
    end_ += n;
    return n > 0;
}

bool CopyTextReader::next_line(std::string_view &line)
{
    for (;;) {
        const char *const begin = buffer_.data() + begin_;
        const char *const end = buffer_.data() + end_;
        const char *search = begin + scanned_;
        const char *newline = nullptr;
        while (search < end) {
            const auto *found = static_cast<const char *>(std::memchr(search, '\n', end - search));
            if (found == nullptr || !is_escaped(begin, found)) {
                newline = found;
                break;
            }
            search = found + 1;
        }
        if (newline != nullptr || (eof_ && begin < end)) {
            const char *line_end = newline != nullptr ? newline : end;
            const std::size_t consumed = (line_end - begin) + (newline != nullptr ? 1 : 0);
            if (line_end > begin && line_end[-1] == '\r' && !is_escaped(begin, line_end - 1))
                --line_end; /* CR LF */
            line = std::string_view(begin, line_end - begin);
            begin_ += consumed;
            bytes_read_ += consumed;
            scanned_ = 0;
            ++line_number_;
            return true;
        }
        if (eof_)
            return false;
        scanned_ = end_ - begin_;
        if (!fill())
            eof_ = true;
    }
}

bool CopyTextReader::next_row(std::vector<CopyField> &fields)
{
    std::string_view line;
    if (ended_ || !next_line(line))
        return false;
    if (line == "\\.") {
        /* COPY's end marker: the data ends here, and nothing may follow it
           (a tail hidden behind a marker would otherwise go unverified). */
        ended_ = true;
        const std::uint64_t marker_line = line_number_;
        if (next_line(line))
            throw FormatError("line " + std::to_string(line_number_) + ": data after the end-of-data marker on line " +
                              std::to_string(marker_line));
        return false;
    }
    split_copy_line(line, scratch_, fields);
    return true;
}

}  // namespace eventstore::verify
