// ResponseSink: where a generation's streamed messages go (the Generate
// reactor, or a wrapper that also records them for the response cache).
#ifndef FM_SERVICES_GATEWAY_RESPONSE_SINK_H_
#define FM_SERVICES_GATEWAY_RESPONSE_SINK_H_

#include "fm/v1/gateway.pb.h"

namespace fm::gateway {

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Queues one message; false once the client is gone.
  virtual bool Write(fm::v1::GenerateResponse response) = 0;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_RESPONSE_SINK_H_
