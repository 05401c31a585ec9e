/*
 * checkpoint_set.cpp — see checkpoint_set.h.
 */
#include "checkpoint_set.h"

#include <algorithm>
#include <map>

#include "copy_text_reader.h"
#include "errors.h"
#include "flat_json.h"

namespace eventstore::verify {
namespace {

std::string name(const Checkpoint &cp) { return "checkpoint " + std::to_string(cp.number); }

bool is_blank(std::string_view line)
{
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

CheckpointSet CheckpointSet::from_lines(std::string_view text, const SigningKeys &keys, bool allow_unsigned)
{
    /* Parse every line, keeping the first line of each number. */
    std::map<std::uint64_t, std::pair<Checkpoint, std::uint64_t>> by_number; /* -> (checkpoint, line number) */
    std::uint64_t line_number = 0;
    while (!text.empty()) {
        const std::size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (is_blank(line))
            continue;
        Checkpoint cp;
        try {
            cp = parse_checkpoint_line(line);
        } catch (const FormatError &e) {
            throw Failure("checkpoint file line " + std::to_string(line_number) + ": not a checkpoint: " + e.what());
        }
        auto [it, inserted] = by_number.try_emplace(cp.number, cp, line_number);
        if (!inserted && it->second.first.line != cp.line)
            throw Failure(name(cp) + " appears twice with different contents (checkpoint file lines " +
                          std::to_string(it->second.second) + " and " + std::to_string(line_number) + ")");
    }

    CheckpointSet set;
    for (auto &entry : by_number) {
        Checkpoint &cp = entry.second.first;
        if (!cp.is_signed) {
            if (!allow_unsigned)
                throw Failure(name(cp) + " is unsigned (give --allow-unsigned to accept unsigned checkpoints)");
        } else {
            switch (keys.verify(cp)) {
            case SigningKeys::Verdict::valid:
                break;
            case SigningKeys::Verdict::unknown_key:
                throw Failure(name(cp) + ": signed by an unknown key " + to_hex(cp.key_id));
            case SigningKeys::Verdict::bad_signature:
                throw Failure(name(cp) + ": bad signature");
            }
        }
        if (!set.checkpoints_.empty()) {
            const Checkpoint &previous = set.checkpoints_.back();
            if (cp.tree_size < previous.tree_size)
                throw Failure(name(cp) + " (tree size " + std::to_string(cp.tree_size) + ") is smaller than " +
                              name(previous) + " before it (tree size " + std::to_string(previous.tree_size) + ")");
            if (cp.tree_size == previous.tree_size &&
                (cp.root_hash != previous.root_hash || cp.ledger_head != previous.ledger_head))
                throw Failure(name(previous) + " and " + name(cp) + " have the same tree size " +
                              std::to_string(cp.tree_size) + " but different roots");
        }
        set.checkpoints_.push_back(std::move(cp));
    }
    return set;
}

void CheckpointSet::check_database_copy(ByteSource &database_lines) const
{
    /* The database's lines by checkpoint number, to tell "differs" from
       "missing".  A line that does not parse cannot be byte-identical to an
       anchored one (those all parsed), so it is simply not kept. */
    std::multimap<std::uint64_t, std::string> by_number;
    CopyTextReader reader(database_lines, 1 << 16);
    std::vector<CopyField> fields;
    try {
        while (reader.next_row(fields)) {
            if (fields.size() != 1 || fields[0].null)
                throw Failure("database checkpoints line " + std::to_string(reader.line_number()) +
                              ": expected one non-null column");
            std::string line(fields[0].text);
            std::uint64_t number = 0;
            try {
                const FlatObject object = parse_flat_object(line);
                const JsonValue *value = object.find("checkpoint");
                if (value != nullptr && as_uint64(*value, number))
                    by_number.emplace(number, std::move(line));
            } catch (const FormatError &) {
            }
        }
    } catch (const FormatError &e) {
        throw Failure(std::string("database checkpoints ") + e.what());
    }

    for (const Checkpoint &cp : checkpoints_) {
        const auto [first, last] = by_number.equal_range(cp.number);
        bool identical = false;
        for (auto it = first; it != last && !identical; ++it)
            identical = it->second == cp.line;
        if (identical)
            continue;
        if (first == last)
            throw Failure(name(cp) + " is missing from the database");
        throw Failure(name(cp) + " differs in the database");
    }
}

const Checkpoint *CheckpointSet::find_by_size(std::uint64_t tree_size) const
{
    for (const Checkpoint &cp : checkpoints_)
        if (cp.tree_size == tree_size)
            return &cp;
    return nullptr;
}

std::size_t CheckpointSet::signed_count() const
{
    return static_cast<std::size_t>(
        std::count_if(checkpoints_.begin(), checkpoints_.end(), [](const Checkpoint &cp) { return cp.is_signed; }));
}

}  // namespace eventstore::verify
