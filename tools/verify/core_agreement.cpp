/*
 * core_agreement.cpp — see core_agreement.h.
 */
#include "core_agreement.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/canonical_event.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "log_frontier.h"
#include "log_hasher.h"

namespace eventstore::verify {

void check_agreement_with_core()
{
    LogHasher hasher;
    auto require = [](bool agree, const std::string &what) {
        if (!agree)
            throw std::logic_error("internal error: the verifier's " + what + " disagrees with src/core's");
    };

    const std::string long_data(70000, 'x'); /* longer than the hasher's first buffer */
    EventFields event;
    event.stream_id = "account-42";
    event.stream_version = 1;
    event.event_id = {0x3f, 0x2c, 0x6a, 0x9e, 0x8d, 0x4b, 0x4c, 0x1a, 0x9e, 0x7f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};
    event.event_type = "MoneyDeposited";
    event.event_time_unix_micros = 1768469400123456;
    event.data_json = "{\"amount\": 100, \"currency\": \"EUR\"}";
    event.has_metadata = true;
    event.metadata_json = "{\"correlation_id\": \"c-1\"}";

    Digest previous = kGenesisHash;
    Digest ledger{};
    for (int variant = 0; variant < 6; ++variant) {
        switch (variant) {
        case 1: event.has_metadata = false; event.metadata_json = {}; break;
        case 2: event.event_time_unix_micros = -86400123456; event.schema_version = 2; break;
        case 3: event.has_metadata = true; event.metadata_json = ""; event.data_json = ""; break;
        case 4: event.stream_id = "\xc3\xa9v\xc3\xa9nement\t\n\\"; event.event_type = "T"; break;
        case 5: event.data_json = long_data; event.stream_version = 1LL << 40; break;
        default: break;
        }
        const Digest hash = hasher.event_hash(event, previous);
        require(hash == event_hash(event, previous), "event hash");
        const std::int64_t position = variant == 5 ? INT64_MAX : variant + 1;
        require(hasher.ledger_hash(ledger, hash, position) == ledger_hash(ledger, hash, position), "ledger hash");
        previous = hash;
        ledger = ledger_hash(ledger, hash, position);
        require(hasher.leaf_hash(ledger) == merkle_leaf_hash(ledger), "Merkle leaf hash");
        require(hasher.node_hash(ledger, hash) == merkle_node_hash(ledger, hash), "Merkle node hash");
    }

    MerkleFrontier core_tree;
    LogFrontier tree(hasher);
    require(tree.root() == core_tree.root(), "empty Merkle root");
    for (int i = 0; i < 70; ++i) {
        ledger = ledger_hash(ledger, previous, i);
        core_tree.append(merkle_leaf_hash(ledger));
        tree.append(hasher.leaf_hash(ledger));
        require(tree.root() == core_tree.root() && tree.size() == core_tree.size(),
                "Merkle root at size " + std::to_string(i + 1));
    }
}

}  // namespace eventstore::verify
