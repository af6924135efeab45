#include "eventstore/canonical_encoding.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>
#include <memory>

#include "eventstore/internal/byte_codec.h"

namespace kam::eventstore {

namespace {
constexpr uint8_t kCanonicalFormat = 1;
}  // namespace

std::string CanonicalBytes(const RecordedEvent& e) {
  std::string out;
  size_t metadata_bytes = 0;
  for (const auto& [key, value] : e.metadata) {
    metadata_bytes += 8 + key.size() + value.size();
  }
  out.reserve(1 + 8 + 8 + 8 + 8 + 4 * 4 + 4 + e.stream.size() + e.event_id.size() + e.type.size() +
              e.data.size() + metadata_bytes);
  out.push_back(static_cast<char>(kCanonicalFormat));
  internal::PutU64(&out, e.position);
  internal::PutString(&out, e.stream);
  internal::PutU64(&out, e.version);
  internal::PutString(&out, e.event_id);
  internal::PutString(&out, e.type);
  internal::PutU64(&out, static_cast<uint64_t>(absl::ToUnixNanos(e.occurred_at)));
  internal::PutU64(&out, static_cast<uint64_t>(absl::ToUnixNanos(e.recorded_at)));
  // std::map iterates keys in ascending byte order, as the format requires.
  internal::PutU32(&out, static_cast<uint32_t>(e.metadata.size()));
  for (const auto& [key, value] : e.metadata) {
    internal::PutString(&out, key);
    internal::PutString(&out, value);
  }
  internal::PutString(&out, e.data);
  return out;
}

std::string ChainHash(absl::string_view prev_hash, absl::string_view canonical) {
  // Hashing is on every append and rebuild path: fetch the algorithm once and
  // keep one context per thread instead of allocating one per hash.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                                      EVP_MD_CTX_free);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int length = 0;
  EVP_DigestInit_ex(ctx.get(), kSha256, nullptr);
  EVP_DigestUpdate(ctx.get(), prev_hash.data(), prev_hash.size());
  EVP_DigestUpdate(ctx.get(), canonical.data(), canonical.size());
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

const std::string& GenesisHash() {
  static const std::string* const kGenesis = new std::string(kHashBytes, '\0');
  return *kGenesis;
}

namespace internal {

absl::Status ParseCanonicalBytes(absl::string_view bytes, RecordedEvent* e) {
  ByteReader reader(bytes);
  uint8_t format = 0;
  uint64_t occurred_ns = 0;
  uint64_t recorded_ns = 0;
  uint32_t metadata_count = 0;
  if (!reader.GetU8(&format) || format != kCanonicalFormat) {
    return absl::DataLossError("unknown event record format");
  }
  bool ok = reader.GetU64(&e->position) && reader.GetString(&e->stream) &&
            reader.GetU64(&e->version) && reader.GetString(&e->event_id) &&
            reader.GetString(&e->type) && reader.GetU64(&occurred_ns) &&
            reader.GetU64(&recorded_ns) && reader.GetU32(&metadata_count);
  e->metadata.clear();
  for (uint32_t i = 0; ok && i < metadata_count; ++i) {
    std::string key;
    std::string value;
    ok = reader.GetString(&key) && reader.GetString(&value);
    e->metadata.emplace(std::move(key), std::move(value));
  }
  ok = ok && reader.GetString(&e->data) && reader.empty();
  if (!ok) return absl::DataLossError("truncated or malformed event record");
  e->occurred_at = absl::FromUnixNanos(static_cast<int64_t>(occurred_ns));
  e->recorded_at = absl::FromUnixNanos(static_cast<int64_t>(recorded_ns));
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace kam::eventstore
