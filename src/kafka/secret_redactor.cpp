/*
 * secret_redactor.cpp — see the header for what counts as secret and why.
 */
#include "kafka/secret_redactor.h"

#include <algorithm>

namespace eventstore::kafka {

namespace {

bool starts_with(const std::string &text, const char *prefix)
{
    return text.rfind(prefix, 0) == 0;
}

bool contains(const std::string &text, const char *part)
{
    return text.find(part) != std::string::npos;
}

}  // namespace

bool is_secret_property(const std::string &name)
{
    return starts_with(name, "sasl.") || starts_with(name, "ssl.") || contains(name, "password") ||
           contains(name, "secret") || contains(name, "token") || contains(name, "key") || contains(name, "jaas");
}

SecretRedactor::SecretRedactor(const std::vector<Property> &properties)
{
    for (const Property &property : properties)
        if (!property.second.empty() && is_secret_property(property.first))
            secrets_.push_back(property.second);
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
}

std::string SecretRedactor::redact(std::string text) const
{
    static const std::string kMask = "[redacted]";
    for (const std::string &secret : secrets_) {
        for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kMask.size()))
            text.replace(at, secret.size(), kMask);
    }
    return text;
}

}  // namespace eventstore::kafka
