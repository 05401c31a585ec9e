/*
 * core_agreement.h — a startup check that the verifier's fast hashing
 * (LogHasher, LogFrontier) computes exactly what src/core computes.
 *
 * The fast paths restate core's encodings for speed (log_hasher.h says
 * why).  If core ever changed and they did not, a pass would still be
 * sound (a match with a stored hash cannot come from a wrong encoding)
 * but every check would fail.  This comparison on fixed inputs — events
 * with and without metadata, negative times, empty and non-ASCII fields,
 * and the Merkle root at every size up to 70 leaves — costs well under a
 * millisecond, so it runs on every start rather than only in a test build.
 */
#ifndef EVENTSTORE_VERIFY_CORE_AGREEMENT_H
#define EVENTSTORE_VERIFY_CORE_AGREEMENT_H

namespace eventstore::verify {

/* Throws std::logic_error naming the first disagreement. */
void check_agreement_with_core();

}  // namespace eventstore::verify

#endif
