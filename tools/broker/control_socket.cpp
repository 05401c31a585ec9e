// control_socket.cpp — the UNIX-socket transport for control commands.
#include "control_socket.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace broker {

namespace {

// A command or reply longer than this is not one we produce or accept.
constexpr size_t kMaxLineBytes = 4096;
// How long one side waits for the other to send its line.
constexpr int kIoTimeoutSeconds = 10;

std::string errno_text() { return std::strerror(errno); }

bool make_address(const std::string &path, sockaddr_un *address, std::string *problem) {
    std::memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (path.size() >= sizeof address->sun_path) {
        *problem = "socket path too long for a UNIX socket (" + std::to_string(path.size()) +
                   " bytes, at most " + std::to_string(sizeof address->sun_path - 1) + "): " + path;
        return false;
    }
    std::memcpy(address->sun_path, path.c_str(), path.size() + 1);
    return true;
}

void set_io_timeout(int fd) {
    timeval timeout{};
    timeout.tv_sec = kIoTimeoutSeconds;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

// Reads up to the first newline (or EOF).  False on timeout/error/overlong.
bool read_line(int fd, std::string *line) {
    line->clear();
    char buffer[512];
    while (line->size() <= kMaxLineBytes) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        line->append(buffer, static_cast<size_t>(n));
        size_t newline = line->find('\n');
        if (newline != std::string::npos) {
            line->resize(newline);
            return true;
        }
    }
    return false;
}

bool write_all(int fd, const std::string &data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

ControlSocketServer::ControlSocketServer(const std::string &path) : path_(path) {
    sockaddr_un address;
    std::string problem;
    if (!make_address(path, &address, &problem)) throw std::runtime_error(problem);
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket: " + errno_text());
    // Only the user who started the broker may steer it: the socket file is
    // created 0600 (the umask applies to bind()).
    mode_t old_umask = umask(0177);
    unlink(path.c_str());
    int bound = bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof address);
    int bind_errno = errno;
    umask(old_umask);
    if (bound < 0 || listen(listen_fd_, 16) < 0) {
        std::string message = "cannot listen on " + path + ": " + std::strerror(bound < 0 ? bind_errno : errno);
        close(listen_fd_);
        throw std::runtime_error(message);
    }
}

ControlSocketServer::~ControlSocketServer() {
    close(listen_fd_);
    unlink(path_.c_str());
}

void ControlSocketServer::serve_one(const std::function<std::string(const std::string &)> &handle) {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // the client gave up already, or EINTR: poll again
    set_io_timeout(client);
    std::string line;
    std::string reply = read_line(client, &line) ? handle(line) : "error: command line unreadable or too long";
    write_all(client, reply + "\n");
    close(client);
}

bool send_control_command(const std::string &path, const std::string &line, std::string *reply) {
    sockaddr_un address;
    if (!make_address(path, &address, reply)) return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *reply = "socket: " + errno_text();
        return false;
    }
    set_io_timeout(fd);
    if (connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0) {
        *reply = "cannot reach the broker at " + path + ": " + errno_text() + " (is it running?)";
        close(fd);
        return false;
    }
    bool ok = write_all(fd, line + "\n") && read_line(fd, reply);
    if (!ok) *reply = "no reply from the broker at " + path + ": " + errno_text();
    else if (reply->empty()) {
        *reply = "the broker closed the connection without replying";
        ok = false;
    }
    close(fd);
    return ok;
}

}  // namespace broker
