// kafka_error_names.cpp — error names and numbers accepted by the
// `produce-errors` control command.
#include "kafka_error_names.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace broker {

namespace {

std::string upper_case(const std::string &text) {
    std::string result = text;
    for (char &c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return result;
}

// librdkafka's table of every error it knows.  Looking names up here rather
// than in a list of our own keeps the accepted set exactly the set the
// installed library can inject.
const rd_kafka_err_desc *find_in_librdkafka(const std::string &name_upper, rd_kafka_resp_err_t *code_or_null) {
    const rd_kafka_err_desc *descs = nullptr;
    size_t count = 0;
    rd_kafka_get_err_descs(&descs, &count);
    for (size_t i = 0; i < count; i++) {
        if (!descs[i].name) continue;  // the table has holes
        if (code_or_null ? descs[i].code == *code_or_null : name_upper == descs[i].name) return &descs[i];
    }
    return nullptr;
}

// Kafka's own documentation (and Java clients) name a few protocol errors
// differently from librdkafka; testers will type either, so accept both.
struct ProtocolAlias {
    const char *kafka_name;
    rd_kafka_resp_err_t code;
};
const ProtocolAlias kProtocolAliases[] = {
    {"MESSAGE_TOO_LARGE", RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE},
    {"CORRUPT_MESSAGE", RD_KAFKA_RESP_ERR_INVALID_MSG},
    {"UNKNOWN_TOPIC_OR_PARTITION", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART},
    {"INVALID_FETCH_SIZE", RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE},
    {"NOT_LEADER_OR_FOLLOWER", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
};

bool is_integer(const std::string &text) {
    size_t start = (!text.empty() && text[0] == '-') ? 1 : 0;
    if (start == text.size()) return false;
    for (size_t i = start; i < text.size(); i++)
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    return text.size() <= 6;  // every Kafka/librdkafka code fits; avoids overflow
}

}  // namespace

std::optional<rd_kafka_resp_err_t> parse_kafka_error(const std::string &text) {
    std::optional<rd_kafka_resp_err_t> found;
    if (is_integer(text)) {
        rd_kafka_resp_err_t code = static_cast<rd_kafka_resp_err_t>(std::atoi(text.c_str()));
        if (find_in_librdkafka("", &code)) found = code;
    } else {
        std::string name = upper_case(text);
        const std::string prefix = "RD_KAFKA_RESP_ERR_";
        if (name.compare(0, prefix.size(), prefix) == 0) name = name.substr(prefix.size());
        if (const rd_kafka_err_desc *desc = find_in_librdkafka(name, nullptr)) found = desc->code;
        for (const ProtocolAlias &alias : kProtocolAliases)
            if (name == alias.kafka_name) found = alias.code;
    }
    if (found && *found == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
    return found;
}

std::string kafka_error_name(rd_kafka_resp_err_t code) {
    return rd_kafka_err2name(code);
}

}  // namespace broker
