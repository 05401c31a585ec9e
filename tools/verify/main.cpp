/*
 * main.cpp — pg_eventstore_verify, the offline verifier of an exported
 * pg_eventstore log against checkpoints kept outside the database.
 *
 *   pg_eventstore_verify --log FILE [--checkpoints FILE] [--public-key FILE.pem]...
 *                        [--database-checkpoints FILE] [--proof FILE]... [--allow-unsigned]
 *
 * The order of the checks is the order in which failures are reported:
 * the checkpoint file on its own (format, duplicates, signatures, order),
 * then the database's copy of the checkpoints, then the proofs against the
 * checkpoints, then the walk over the log (log_verifier.h).  The first
 * failure ends the run.
 *
 * Exit status: 0 all holds (one summary line on stdout), 1 something does
 * not (one "FAIL ..." line on stdout), 2 the tool could not check (usage,
 * I/O, a bad key file, an internal error; a message on stderr).
 */
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "byte_source.h"
#include "checkpoint_set.h"
#include "errors.h"
#include "log_verifier.h"
#include "proof_check.h"
#include "signing_keys.h"

namespace {

using namespace eventstore::verify;

const char kUsage[] =
    "usage: pg_eventstore_verify [--log FILE] [--checkpoints FILE] [--public-key FILE.pem]...\n"
    "                            [--database-checkpoints FILE] [--proof FILE]... [--allow-unsigned]\n"
    "\n"
    "  --log FILE                   COPY (SELECT * FROM eventstore.export_log()) TO STDOUT output\n"
    "                               (\"-\" reads standard input)\n"
    "  --checkpoints FILE           the checkpoint lines kept outside the database (e.g. from Kafka)\n"
    "  --public-key FILE.pem        an Ed25519 public key that signs checkpoints (repeatable)\n"
    "  --database-checkpoints FILE  COPY (SELECT line FROM eventstore.checkpoints ORDER BY checkpoint)\n"
    "                               TO STDOUT output: every kept checkpoint must be there unchanged\n"
    "  --proof FILE                 an inclusion or consistency proof (JSON) to check (repeatable)\n"
    "  --allow-unsigned             accept checkpoints without a signature\n"
    "\n"
    "Exit status: 0 verified, 1 FAIL (the reason on stdout), 2 usage or I/O error.\n";

struct Options {
    std::string log;
    std::string checkpoints;
    std::string database_checkpoints;
    std::vector<std::string> public_keys;
    std::vector<std::string> proofs;
    bool allow_unsigned = false;
    bool help = false;
};

Options parse_options(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_value = false;
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            has_value = true;
        }
        auto take = [&]() -> std::string {
            if (has_value)
                return value;
            if (i + 1 >= argc)
                throw InputError(arg + " needs a value");
            return argv[++i];
        };
        auto once = [&](std::string &slot) {
            if (!slot.empty())
                throw InputError(arg + " given twice");
            slot = take();
            if (slot.empty())
                throw InputError(arg + " needs a non-empty value");
        };
        if (arg == "--log")
            once(options.log);
        else if (arg == "--checkpoints")
            once(options.checkpoints);
        else if (arg == "--database-checkpoints")
            once(options.database_checkpoints);
        else if (arg == "--public-key")
            options.public_keys.push_back(take());
        else if (arg == "--proof")
            options.proofs.push_back(take());
        else if (arg == "--allow-unsigned" && !has_value)
            options.allow_unsigned = true;
        else if ((arg == "--help" || arg == "-h") && !has_value)
            options.help = true;
        else
            throw InputError("unknown argument \"" + arg + "\"");
    }
    if (options.help)
        return options;
    if (options.log.empty() && options.proofs.empty())
        throw InputError("nothing to verify: give --log and/or --proof");
    if (options.checkpoints.empty() && (!options.proofs.empty() || !options.database_checkpoints.empty()))
        throw InputError("--proof and --database-checkpoints need --checkpoints (the roots to check against)");
    return options;
}

int run(const Options &options)
{
    const auto started = std::chrono::steady_clock::now();

    SigningKeys keys;
    for (const std::string &path : options.public_keys)
        keys.add_pem_file(path);

    CheckpointSet anchors;
    if (!options.checkpoints.empty())
        anchors = CheckpointSet::from_lines(read_whole_file(options.checkpoints), keys, options.allow_unsigned);

    if (!options.database_checkpoints.empty()) {
        FileSource database(options.database_checkpoints);
        anchors.check_database_copy(database);
    }

    std::vector<LedgerClaim> claims;
    for (const std::string &path : options.proofs)
        if (auto claim = check_proof(read_whole_file(path), path, anchors))
            claims.push_back(std::move(*claim));

    std::string summary = "OK: ";
    if (!options.log.empty()) {
        FileSource log(options.log);
        const WalkSummary walk = verify_log(log, anchors, std::move(claims));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        char figures[160];
        std::snprintf(figures, sizeof figures, "%llu bytes in %.3f s (%.1f MB/s)",
                      static_cast<unsigned long long>(walk.bytes), seconds,
                      seconds > 0 ? static_cast<double>(walk.bytes) / seconds / 1e6 : 0.0);
        summary += std::to_string(walk.events) + " events, " + std::to_string(walk.streams) + " streams, " +
                   std::to_string(walk.checkpoints) + " checkpoints verified (" +
                   std::to_string(anchors.signed_count()) + " signed), " + std::to_string(options.proofs.size()) +
                   " proofs; " + figures;
    } else {
        summary += std::to_string(anchors.checkpoints().size()) + " checkpoints (" +
                   std::to_string(anchors.signed_count()) + " signed), " + std::to_string(options.proofs.size()) +
                   " proofs verified; no log given";
    }
    std::cout << summary << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    try {
        const Options options = parse_options(argc, argv);
        if (options.help) {
            std::cout << kUsage;
            return 0;
        }
        return run(options);
    } catch (const Failure &failure) {
        std::cout << "FAIL " << failure.what() << std::endl;
        return 1;
    } catch (const InputError &error) {
        std::cerr << "pg_eventstore_verify: " << error.what() << "\n";
        if (argc <= 1)
            std::cerr << kUsage;
        return 2;
    } catch (const std::exception &error) {
        std::cerr << "pg_eventstore_verify: " << error.what() << "\n";
        return 2;
    } catch (...) {
        std::cerr << "pg_eventstore_verify: unexpected error\n";
        return 2;
    }
}
