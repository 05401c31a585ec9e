/*
 * log_verifier.cpp — see log_verifier.h.
 *
 * The loop body is the verifier's hot path (it runs for every event and
 * must keep up with half the speed of a plain SHA-256 of the file), so it
 * allocates nothing per row: fields are views into the reader's buffer,
 * the stream lookup reuses one key string, and the hashes are src/core's
 * own (the code the database hashed with), which reuse one OpenSSL context
 * per thread.  Failure messages are built only when something fails.
 *
 * Two stages on two threads, so that a 2-core machine verifies at about
 * half the speed of a plain SHA-256 of the file even for small events
 * (each row costs about 13 SHA-256 blocks here against openssl's 8):
 *   1. rows (a helper thread): read and parse each row, check its position
 *      and its stream version, and hand it on in batches;
 *   2. chain (the calling thread): the ledger, the Merkle tree, proofs'
 *      ledger hashes and the checkpoints.
 * The event hashes, the biggest part, are shared: stage 1 checks those of
 * even positions, and hands on the canonical bytes of odd ones for stage 2
 * to hash.  Each event hash chains on the stored hash of the stream's
 * previous event, which is the recomputed one wherever the walk got that
 * far, so the two halves need nothing from each other.
 * The first failure in log order wins: a failure of stage 1 at a row is
 * reported only once stage 2 has checked every row before it without one.
 */
#include "log_verifier.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "copy_text_reader.h"
#include "core/canonical_event.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "errors.h"
#include "scalars.h"

namespace eventstore::verify {
namespace {

enum Column {
    kPosition,
    kStreamId,
    kStreamVersion,
    kEventId,
    kEventType,
    kSchemaVersion,
    kEventTime,
    kData,
    kMetadata,
    kHash,
    kLedgerHash,
    kColumnCount
};

constexpr const char *kColumnNames[kColumnCount] = {
    "global_position", "stream_id", "stream_version", "event_id", "event_type", "schema_version",
    "event_time_us",   "data",      "metadata",       "hash",     "ledger_hash"};

struct StreamState {
    std::int64_t version = 0;
    Digest hash = kGenesisHash;
};

/* What stage 1 hands on per row. */
struct Hashed {
    std::int64_t position;
    Digest stored_hash;  /* checked by stage 1, or by stage 2 when deferred */
    Digest stored_ledger;
    bool deferred;       /* stage 2 hashes arena[bytes_at, +bytes_length) */
    std::size_t bytes_at;
    std::size_t bytes_length;
    std::int64_t stream_version;
    std::size_t stream_id_at; /* for a failure's message */
    std::size_t stream_id_length;
};
struct Batch {
    std::vector<Hashed> rows;
    std::string arena; /* canonical bytes (and stream ids) of the deferred rows */
};

class Walk {
public:
    Walk(ByteSource &log, const CheckpointSet &anchors, std::vector<LedgerClaim> claims)
        : reader_(log), checkpoints_(anchors.checkpoints()), claims_(std::move(claims))
    {
        std::stable_sort(claims_.begin(), claims_.end(),
                         [](const LedgerClaim &a, const LedgerClaim &b) { return a.position < b.position; });
        streams_.reserve(1024);
    }

    WalkSummary run()
    {
        check_checkpoints_at(0, Digest{});
        std::thread rows([this] { read_rows(); });
        std::optional<Failure> chain_failure;
        try {
            chain_rows();
        } catch (const Failure &failure) {
            chain_failure = failure;
        }
        stop_rows();
        rows.join();
        if (chain_failure)
            throw *chain_failure;
        if (rows_failure_)
            throw *rows_failure_;
        if (rows_error_)
            std::rethrow_exception(rows_error_);

        const std::int64_t last = position_;
        if (next_checkpoint_ < checkpoints_.size()) {
            const Checkpoint &cp = checkpoints_[next_checkpoint_];
            throw Failure("checkpoint " + std::to_string(cp.number) + " covers " + std::to_string(cp.tree_size) +
                          " positions but the log ends at position " + std::to_string(last));
        }
        if (next_claim_ < claims_.size()) {
            const LedgerClaim &claim = claims_[next_claim_];
            throw Failure("proof " + claim.origin + ": position " + std::to_string(claim.position) +
                          " is beyond the log's end at position " + std::to_string(last));
        }
        summary_.events = static_cast<std::uint64_t>(last);
        summary_.streams = streams_.size();
        summary_.bytes = reader_.bytes_read();
        return summary_;
    }

private:
    [[noreturn]] void malformed(const std::string &what) const
    {
        throw Failure("log line " + std::to_string(reader_.line_number()) + ": " + what);
    }

    std::string_view text(const std::vector<CopyField> &fields, Column column) const
    {
        if (fields[column].null)
            malformed(std::string(kColumnNames[column]) + " is NULL");
        return fields[column].text;
    }

    std::int64_t integer(const std::vector<CopyField> &fields, Column column) const
    {
        std::int64_t value = 0;
        if (!parse_int64(text(fields, column), value))
            malformed(std::string(kColumnNames[column]) + " is not an integer: " + printable(fields[column].text, 40));
        return value;
    }

    Digest digest(const std::vector<CopyField> &fields, Column column) const
    {
        Digest value{};
        if (!parse_hex(text(fields, column), value))
            malformed(std::string(kColumnNames[column]) + " is not 64 lowercase hex digits");
        return value;
    }

    std::string event_name(std::int64_t position, std::string_view stream_id, std::int64_t version) const
    {
        return "position " + std::to_string(position) + " (stream " + printable(stream_id) + " version " +
               std::to_string(version) + ")";
    }

    void row(const std::vector<CopyField> &fields)
    {
        if (fields.size() != kColumnCount)
            malformed("expected " + std::to_string(kColumnCount) + " columns, found " + std::to_string(fields.size()));

        const std::int64_t position = integer(fields, kPosition);
        if (position != rows_position_ + 1)
            throw Failure("position " + std::to_string(position) + ": expected position " +
                          std::to_string(rows_position_ + 1));

        EventFields event;
        event.stream_id = text(fields, kStreamId);
        event.stream_version = integer(fields, kStreamVersion);
        if (!parse_uuid(text(fields, kEventId), event.event_id))
            malformed("event_id is not a uuid");
        event.event_type = text(fields, kEventType);
        event.schema_version = integer(fields, kSchemaVersion);
        event.event_time_unix_micros = integer(fields, kEventTime);
        event.data_json = text(fields, kData);
        event.has_metadata = !fields[kMetadata].null;
        event.metadata_json = fields[kMetadata].text;
        const Digest stored_hash = digest(fields, kHash);
        const Digest stored_ledger = digest(fields, kLedgerHash);

        /* The key string keeps its capacity, so looking up an existing
           stream allocates nothing; only a new stream copies its id. */
        key_.assign(event.stream_id.data(), event.stream_id.size());
        StreamState &stream = streams_[key_];
        if (event.stream_version != stream.version + 1)
            throw Failure(event_name(position, event.stream_id, event.stream_version) + ": expected stream version " +
                          std::to_string(stream.version + 1));

        Hashed hashed{position, stored_hash, stored_ledger, false, 0, 0, event.stream_version, 0, 0};
        if (position % 2 == 0) {
            if (eventstore::event_hash(event, stream.hash) != stored_hash)
                throw Failure(event_name(position, event.stream_id, event.stream_version) +
                              ": event hash does not match its fields");
        } else {
            std::string &arena = batch_.arena;
            hashed.deferred = true;
            hashed.bytes_at = arena.size();
            append_canonical_encoding(event, arena);
            arena.append(reinterpret_cast<const char *>(stream.hash.data()), stream.hash.size());
            hashed.bytes_length = arena.size() - hashed.bytes_at;
            hashed.stream_id_at = arena.size();
            arena.append(event.stream_id.data(), event.stream_id.size());
            hashed.stream_id_length = event.stream_id.size();
        }
        stream.version = event.stream_version;
        stream.hash = stored_hash;
        rows_position_ = position;
        batch_.rows.push_back(hashed);
        if (batch_.rows.size() == kBatchRows)
            hand_on_batch();
    }

    /* ---- stage 1: the helper thread ---- */

    void read_rows()
    {
        try {
            std::vector<CopyField> fields;
            fields.reserve(kColumnCount + 1);
            try {
                while (!stopping() && reader_.next_row(fields))
                    row(fields);
            } catch (const FormatError &e) {
                throw Failure(std::string("log ") + e.what());
            }
        } catch (const Failure &failure) {
            rows_failure_ = failure;
        } catch (...) {
            rows_error_ = std::current_exception();
        }
        hand_on_batch();
        std::lock_guard<std::mutex> lock(mutex_);
        rows_done_ = true;
        changed_.notify_all();
    }

    void hand_on_batch()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return queue_.size() < kQueuedBatches || stop_; });
        if (!batch_.rows.empty() && !stop_)
            queue_.push_back(std::move(batch_));
        batch_ = Batch();
        batch_.rows.reserve(kBatchRows);
        changed_.notify_all();
    }

    bool stopping() const { return stop_.load(std::memory_order_relaxed); }

    void stop_rows()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        changed_.notify_all();
    }

    /* ---- stage 2: the calling thread ---- */

    void chain_rows()
    {
        for (;;) {
            Batch batch;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                changed_.wait(lock, [this] { return !queue_.empty() || rows_done_; });
                if (queue_.empty())
                    return;
                batch = std::move(queue_.front());
                queue_.pop_front();
                changed_.notify_all();
            }
            for (const Hashed &hashed : batch.rows) {
                if (hashed.deferred)
                    check_deferred_hash(hashed, batch.arena);
                chain(hashed.position, hashed.stored_hash, hashed.stored_ledger);
            }
        }
    }

    /* An odd position's event hash, from the canonical bytes stage 1 handed on. */
    void check_deferred_hash(const Hashed &hashed, const std::string &arena)
    {
        const std::string_view bytes(arena.data() + hashed.bytes_at, hashed.bytes_length);
        if (eventstore::sha256(bytes) != hashed.stored_hash)
            throw Failure(event_name(hashed.position,
                                     std::string_view(arena.data() + hashed.stream_id_at, hashed.stream_id_length),
                                     hashed.stream_version) +
                          ": event hash does not match its fields");
    }

    /* The ledger at a position; hash is the event's hash, checked by then. */
    void chain(std::int64_t position, const Digest &hash, const Digest &stored_ledger)
    {
        const Digest ledger = eventstore::ledger_hash(ledger_, hash, position);
        if (ledger != stored_ledger) {
            throw Failure("position " + std::to_string(position) + ": ledger hash does not match");
        }
        ledger_ = ledger;
        position_ = position;
        frontier_.push(merkle_leaf_hash(ledger));

        const auto at = static_cast<std::uint64_t>(position);
        for (; next_claim_ < claims_.size() && claims_[next_claim_].position == at; ++next_claim_) {
            if (claims_[next_claim_].ledger_hash != ledger)
                throw Failure("proof " + claims_[next_claim_].origin + ": its ledger hash differs from the log's at position " +
                              std::to_string(position));
            ++summary_.claims;
        }
        check_checkpoints_at(at, ledger);
    }

    void check_checkpoints_at(std::uint64_t size, const Digest &ledger)
    {
        if (next_checkpoint_ >= checkpoints_.size() || checkpoints_[next_checkpoint_].tree_size != size)
            return;
        const Digest root = frontier_.root();
        for (; next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].tree_size == size;
             ++next_checkpoint_) {
            const Checkpoint &cp = checkpoints_[next_checkpoint_];
            const std::string name =
                "checkpoint " + std::to_string(cp.number) + " (tree size " + std::to_string(size) + ")";
            /* Every earlier checkpoint matched, so what differs lies after the last one's size. */
            const std::string where = "; the log differs from what was anchored at a position from " +
                                      std::to_string(matched_size_ + 1) + " to " + std::to_string(size);
            if (cp.root_hash != root)
                throw Failure(name + ": root does not match the log" + where);
            if (cp.ledger_head != ledger)
                throw Failure(name + ": ledger head does not match the log" + where);
            matched_size_ = size;
            ++summary_.checkpoints;
        }
    }

    static constexpr std::size_t kBatchRows = 4096;
    static constexpr std::size_t kQueuedBatches = 8;

    /* Stage 1's own. */
    CopyTextReader reader_;
    std::unordered_map<std::string, StreamState> streams_;
    std::string key_;
    std::int64_t rows_position_ = 0;
    Batch batch_;
    std::optional<Failure> rows_failure_; /* read by stage 2 only after the join */
    std::exception_ptr rows_error_;

    /* Between the stages. */
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> queue_;
    bool rows_done_ = false;
    std::atomic<bool> stop_{false}; /* set by stage 2 (failure or end): stage 1 stops reading */

    /* Stage 2's own. */
    MerkleFrontier frontier_;
    const std::vector<Checkpoint> &checkpoints_; /* ascending tree size */
    std::size_t next_checkpoint_ = 0;
    std::uint64_t matched_size_ = 0; /* tree size of the last checkpoint the log matched */
    std::vector<LedgerClaim> claims_; /* ascending position */
    std::size_t next_claim_ = 0;
    std::int64_t position_ = 0;
    Digest ledger_{}; /* ledger(0): 32 zero bytes */
    WalkSummary summary_;
};

}  // namespace

WalkSummary verify_log(ByteSource &log, const CheckpointSet &anchors, std::vector<LedgerClaim> claims)
{
    return Walk(log, anchors, std::move(claims)).run();
}

}  // namespace eventstore::verify
