// control_socket.h — how control commands reach the running broker: a UNIX
// stream socket (DIR/control.sock), one command line per connection, one
// reply line back.  One connection per command keeps both ends trivial and
// makes `ctl` synchronous: the reply is written after the command applied.
#pragma once

#include <functional>
#include <string>

namespace broker {

class ControlSocketServer {
public:
    // Binds and listens on `path` (replacing a stale socket file left by a
    // crashed broker).  Throws std::runtime_error on failure.
    explicit ControlSocketServer(const std::string &path);
    ~ControlSocketServer();  // closes and removes the socket file
    ControlSocketServer(const ControlSocketServer &) = delete;
    ControlSocketServer &operator=(const ControlSocketServer &) = delete;

    // For poll(): readable when a client is waiting.
    int listen_fd() const { return listen_fd_; }

    // Accepts one client, reads its command line, writes `handle(line)` and a
    // newline back, closes.  A client that stalls is dropped after a short
    // timeout so it cannot block the broker's control loop.
    void serve_one(const std::function<std::string(const std::string &)> &handle);

private:
    std::string path_;
    int listen_fd_ = -1;
};

// Client side (`--ctl`): sends `line`, returns the reply line (without the
// newline) in `reply`.  Returns false with a message in `reply` when the
// broker cannot be reached.
bool send_control_command(const std::string &path, const std::string &line, std::string *reply);

}  // namespace broker
