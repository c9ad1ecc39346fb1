// SpBackend: the std-only interface between fmserve and SentencePiece.
// It is implemented in a separately loaded module (sentencepiece_shim.cc),
// because Debian's libsentencepiece exports its own bundled protobuf 3.14
// runtime, which cannot share one symbol namespace with the protobuf 3.21
// that gRPC uses (see sentencepiece_adapter.cc).
#ifndef FM_SERVICES_TOKENIZER_SENTENCEPIECE_BACKEND_H_
#define FM_SERVICES_TOKENIZER_SENTENCEPIECE_BACKEND_H_

#include <string>
#include <vector>

namespace fm::tokenizer {

// Methods returning int return a SentencePiece status code (0 = OK; the
// numbering is google.rpc.Code) and fill `error` otherwise.
class SpBackend {
 public:
  virtual ~SpBackend() = default;
  virtual int LoadFromSerialized(const std::string& serialized,
                                 std::string* error) = 0;
  virtual int Encode(const std::string& text, std::vector<int>* ids,
                     std::string* error) const = 0;
  virtual int Decode(const std::vector<int>& ids, std::string* text,
                     std::string* error) const = 0;
  virtual int PieceSize() const = 0;
  virtual std::string IdToPiece(int id) const = 0;
  virtual float GetScore(int id) const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual int unk_id() const = 0;
  virtual int pad_id() const = 0;
};

}  // namespace fm::tokenizer

// The module's one exported entry point: a new backend, owned by the caller.
extern "C" fm::tokenizer::SpBackend* FmSentencePieceBackendCreate();
#define FM_SP_BACKEND_CREATE_SYMBOL "FmSentencePieceBackendCreate"
#define FM_SP_SHIM_FILE "libfm_spshim.so"

#endif  // FM_SERVICES_TOKENIZER_SENTENCEPIECE_BACKEND_H_
