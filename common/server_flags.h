// Flags shared by every service binary (--listen, --port_file, TLS, grace)
// and their translation into ServerOptions. Flags are read only in main().
#ifndef FM_COMMON_SERVER_FLAGS_H_
#define FM_COMMON_SERVER_FLAGS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/server_runner.h"

namespace fm {

// ServerOptions from the common flags; `default_listen` applies when
// --listen is not given (each service has its own default port).
ServerOptions ServerOptionsFromFlags(const std::string& default_listen);

// Starts a server for `service` with the common flags (`default_listen`
// unless --listen is given), reports SERVING at once (call it after the
// service's resources are loaded), and blocks until SIGTERM/SIGINT, then
// shuts down gracefully. `metrics` are the service's own scrape-time
// series (ServerOptions::metrics). Returns main()'s exit code.
int ServeUntilSignal(
    const std::string& default_listen, grpc::Service* service,
    const std::string& health_name,
    std::vector<std::shared_ptr<prometheus::Collectable>> metrics = {});

// Parses argv with absl::ParseCommandLine, sets the log component, and
// returns the positional arguments (argv[0] first).
std::vector<char*> InitService(const char* component, const char* usage,
                               int argc, char** argv);

}  // namespace fm

#endif  // FM_COMMON_SERVER_FLAGS_H_
