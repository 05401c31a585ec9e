// broker_main.cpp — pg_eventstore_broker: the embedded Kafka-protocol broker
// for pg_eventstore's tests and demo (docs/broker.md), and its control client.
//
//   pg_eventstore_broker --dir DIR [--brokers N] [--partitions P]
//       Runs a mock Kafka cluster of N brokers (default 3) on 127.0.0.1 until
//       SIGTERM/SIGINT, then exits 0.  State in DIR: `bootstrap` (written
//       once everything listens, removed on exit), `pid`, `control.sock`.
//       P (default 3) is the partition count of `create-topic NAME`.
//   pg_eventstore_broker --ctl DIR COMMAND [ARGS...]
//       Sends one control command to the broker running in DIR and prints
//       its reply: exit 0 for `ok ...` (stdout), 1 for `error: ...` (stderr),
//       2 when the broker cannot be reached.
#include "control_commands.h"
#include "control_socket.h"
#include "mock_cluster.h"
#include "state_files.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace {

constexpr const char *kProgram = "pg_eventstore_broker";

struct ServerOptions {
    std::string dir;
    int brokers = 3;
    int partitions = 3;
};

[[noreturn]] void usage_error(const std::string &problem) {
    std::cerr << kProgram << ": " << problem << "\n"
              << "usage: " << kProgram << " --dir DIR [--brokers N] [--partitions P]\n"
              << "       " << kProgram << " --ctl DIR COMMAND [ARGS...]\n";
    std::exit(2);
}

int parse_count(const std::string &option, const char *text, int max) {
    char *end = nullptr;
    errno = 0;
    long value = text ? std::strtol(text, &end, 10) : 0;
    if (!text || *end != '\0' || errno != 0 || value < 1 || value > max)
        usage_error(option + " needs a whole number from 1 to " + std::to_string(max));
    return static_cast<int>(value);
}

ServerOptions parse_server_options(int argc, char **argv) {
    ServerOptions options;
    for (int i = 1; i < argc; i++) {
        const std::string option = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (option == "--dir" && value) options.dir = value;
        else if (option == "--brokers") options.brokers = parse_count(option, value, 64);
        else if (option == "--partitions") options.partitions = parse_count(option, value, 1000);
        else usage_error("unknown or incomplete option '" + option + "'");
        i++;
    }
    if (options.dir.empty()) usage_error("--dir DIR is required");
    return options;
}

int run_control_client(int argc, char **argv) {
    if (argc < 4) usage_error("--ctl needs DIR and a COMMAND");
    std::string line;
    for (int i = 3; i < argc; i++) line += (i > 3 ? " " : "") + std::string(argv[i]);
    std::string reply;
    if (!broker::send_control_command(std::string(argv[2]) + "/control.sock", line, &reply)) {
        std::cerr << kProgram << ": " << reply << "\n";
        return 2;
    }
    const bool ok = reply.compare(0, 2, "ok") == 0;
    (ok ? std::cout : std::cerr) << reply << "\n";
    return ok ? 0 : 1;
}

// SIGTERM/SIGINT are blocked in every thread (librdkafka's threads inherit the
// mask of the thread that creates them, so this must happen first) and read
// from a signalfd in the control loop.  Shutdown then runs in the main thread
// with ordinary code instead of inside a signal handler.
int block_stop_signals() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) throw std::runtime_error("pthread_sigmask failed");
    int fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
    // A control client that disconnects early must not kill the broker.
    std::signal(SIGPIPE, SIG_IGN);
    return fd;
}

int run_server(const ServerOptions &options) {
    const std::string bootstrap_path = options.dir + "/bootstrap";
    const std::string pid_path = options.dir + "/pid";
    // A bootstrap file left by a killed broker would announce a dead cluster.
    broker::remove_file(bootstrap_path);

    const int signal_fd = block_stop_signals();
    broker::MockCluster cluster(options.brokers);
    broker::ControlSocketServer control_socket(options.dir + "/control.sock");
    broker::ControlCommands commands(cluster, options.partitions);

    broker::write_file_atomically(pid_path, std::to_string(getpid()) + "\n");
    // Last: the bootstrap file's presence is what "ready" means to scripts.
    const std::string bootstrap = cluster.bootstrap_servers();
    broker::write_file_atomically(bootstrap_path, bootstrap + "\n");
    std::cerr << kProgram << ": ready, " << options.brokers << " brokers, bootstrap " << bootstrap << std::endl;

    int exit_code = 0;
    for (;;) {
        pollfd watched[2] = {{signal_fd, POLLIN, 0}, {control_socket.listen_fd(), POLLIN, 0}};
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR) continue;
            // Not expected; stop through the normal path so the state files go.
            std::cerr << kProgram << ": poll: " << std::strerror(errno) << std::endl;
            exit_code = 1;
            break;
        }
        if (watched[0].revents & POLLIN) {
            signalfd_siginfo info;
            ssize_t got = read(signal_fd, &info, sizeof info);
            std::cerr << kProgram << ": stopping on "
                      << (got == static_cast<ssize_t>(sizeof info) ? strsignal(static_cast<int>(info.ssi_signo)) : "signal")
                      << std::endl;
            break;
        }
        if (watched[1].revents & POLLIN) {
            control_socket.serve_one([&](const std::string &line) {
                std::string reply = commands.execute(line);
                std::cerr << kProgram << ": " << line << " -> " << reply << std::endl;
                return reply;
            });
        }
    }

    // Not ready any more from the moment we decide to stop; the cluster and
    // the control socket are torn down by their destructors on return.
    broker::remove_file(bootstrap_path);
    broker::remove_file(pid_path);
    close(signal_fd);
    return exit_code;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc >= 2 && std::string(argv[1]) == "--ctl") return run_control_client(argc, argv);
    const ServerOptions options = parse_server_options(argc, argv);
    try {
        return run_server(options);
    } catch (const std::exception &e) {
        std::cerr << kProgram << ": " << e.what() << std::endl;
        return 1;
    }
}
