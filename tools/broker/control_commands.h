// control_commands.h — the fault-control language of the broker: one line of
// text in (`broker-down 2`), one line of text out (`ok broker 2 down` or
// `error: ...`).  Transport-free, so the rules live in one place.
#pragma once

#include "mock_cluster.h"

#include <string>

namespace broker {

class ControlCommands {
public:
    // `default_partitions` is used by `create-topic NAME` without a count.
    ControlCommands(MockCluster &cluster, int default_partitions);

    // Applies one command and returns the reply line (without newline).
    // Every reply starts with "ok" or "error: ".  Never throws.
    std::string execute(const std::string &line);

    // The usage text listed by `help` and by bad commands.
    static const char *usage();

private:
    MockCluster &cluster_;
    int default_partitions_;
};

}  // namespace broker
