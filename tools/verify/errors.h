/*
 * errors.h — the three ways pg_eventstore_verify stops, as exception types.
 *
 * The verifier reports the FIRST thing that does not hold and nothing after
 * it, so a failed check simply throws and unwinds the whole walk; main()
 * turns the exception into the exit status:
 *
 *   Failure     the inputs do not prove what they claim (tampering, a bad
 *               signature, a malformed row): "FAIL <what>" on stdout, exit 1;
 *   InputError  the tool could not do its job (usage, unreadable file, a
 *               public key that is not Ed25519): message on stderr, exit 2;
 *   FormatError a text that does not parse; the caller knows which file and
 *               line it came from and rethrows it as a Failure with that
 *               context, so FormatError never reaches main() on its own.
 *
 * Anything else (std::bad_alloc, an OpenSSL call failing) is also exit 2:
 * the verdict is only given when every check actually ran.
 */
#ifndef EVENTSTORE_VERIFY_ERRORS_H
#define EVENTSTORE_VERIFY_ERRORS_H

#include <stdexcept>
#include <string>

namespace eventstore::verify {

struct Failure : std::runtime_error {
    explicit Failure(const std::string &what) : std::runtime_error(what) {}
};

struct InputError : std::runtime_error {
    explicit InputError(const std::string &what) : std::runtime_error(what) {}
};

struct FormatError : std::runtime_error {
    explicit FormatError(const std::string &what) : std::runtime_error(what) {}
};

}  // namespace eventstore::verify

#endif
