// ConnectionProbe: tells whether the HTTP client of a request has gone.
// cpp-httplib 0.11 (Debian 12's) gives a handler no handle on its
// connection, and notices a closed one only when a write fails, so a
// request that waits for a whole completion would run to its end for a
// client long gone. The probe finds the request's socket among the
// process's descriptors by its two addresses, once, and then asks the
// kernel whether the peer has closed it.
#ifndef FM_SERVICES_GATEWAY_OPENAI_CONNECTION_PROBE_H_
#define FM_SERVICES_GATEWAY_OPENAI_CONNECTION_PROBE_H_

#include <string>

namespace fm::gateway::openai {

class ConnectionProbe {
 public:
  // The socket whose local port is `local_port` and whose peer is
  // `remote_addr`:`remote_port` (numeric host, as httplib reports it).
  ConnectionProbe(int local_port, const std::string& remote_addr,
                  int remote_port);
  // False when the socket was not found (then Closed() is always false).
  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection.
  bool Closed() const;

 private:
  int fd_ = -1;
};

}  // namespace fm::gateway::openai

#endif  // FM_SERVICES_GATEWAY_OPENAI_CONNECTION_PROBE_H_
