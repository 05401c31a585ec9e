/*
 * checkpoint_key.cpp — eventstore.checkpoint_public_key(): the public half
 * of the key the worker signs checkpoints with, for auditors to keep.
 *
 * The private key is a file the server process reads
 * (pg_eventstore.checkpoint_signing_key, superuser-only); this function
 * reads it in C and returns only the public key (PEM), so no SQL caller
 * ever sees the private key's bytes.
 */
#include "pg_includes.h"

#include <cstring>
#include <stdexcept>

#include "core/checkpoint.h"
#include "errors.h"
#include "gucs.h"

extern "C" {
#include "utils/builtins.h"
}

using namespace eventstore;
using namespace eventstore::pg;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_checkpoint_public_key);

/* eventstore.checkpoint_public_key() RETURNS text: PEM, or NULL when checkpoints are unsigned. */
Datum eventstore_checkpoint_public_key(PG_FUNCTION_ARGS)
{
    const char *key_file = guc_checkpoint_signing_key;
    if (key_file == nullptr || key_file[0] == '\0')
        PG_RETURN_NULL();
    check_signing_key_readable(key_file);
    char pem[1024];
    guarded_call([&] {
        const CheckpointSigner signer(key_file);
        const std::string &public_key = signer.public_key_pem();
        if (public_key.size() >= sizeof pem)
            throw std::runtime_error("public key too long");
        std::memcpy(pem, public_key.c_str(), public_key.size() + 1);
    });
    PG_RETURN_TEXT_P(cstring_to_text(pem));
}

}  // extern "C"
