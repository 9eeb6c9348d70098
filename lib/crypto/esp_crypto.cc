#include "espgw/crypto/esp_crypto.h"
#include "espgw/net/byte_order.h"

#include <cstring>

namespace espgw::crypto {

namespace {

// Constant time; ICVs are 12, 16, 24 or 32 bytes, so 4-byte words cover them.
bool equal_ct(const uint8_t* a, const uint8_t* b, uint32_t n) {
    uint32_t diff = 0;
    for (uint32_t k = 0; k < n; k += 4) {
        uint32_t x, y;
        std::memcpy(&x, a + k, 4);
        std::memcpy(&y, b + k, 4);
        diff |= x ^ y;
    }
    return diff == 0;
}

bool equal_ct16(const uint8_t* a, const uint8_t* b) {
    uint64_t x[2], y[2];
    std::memcpy(x, a, 16);
    std::memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

void aead_nonce(const CryptoOp& op, uint8_t nonce[12]) {
    std::memcpy(nonce, op.keys->salt, 4);
    std::memcpy(nonce + 4, op.iv, 8);
}

IMB_HASH_ALG hash_alg(Integrity i) {
    switch (i) {
    case Integrity::hmac_sha1_96: return IMB_AUTH_HMAC_SHA_1;
    case Integrity::hmac_sha256_128: return IMB_AUTH_HMAC_SHA_256;
    case Integrity::hmac_sha384_192: return IMB_AUTH_HMAC_SHA_384;
    case Integrity::hmac_sha512_256: return IMB_AUTH_HMAC_SHA_512;
    case Integrity::none: break;
    }
    return IMB_AUTH_NULL;
}

// GCM nonces live in the op, which outlives the job; ChaCha needs its own per-op copy too.
struct JobCtx {
    CryptoOp* op;
    uint8_t nonce[12];
};

void fill_job(IMB_JOB* job, CryptoOp& op, JobCtx& ctx, bool seal) {
    const SaKeys& k = *op.keys;
    job->src = op.auth_start;
    job->dst = op.payload;
    job->cipher_start_src_offset_in_bytes = static_cast<uint64_t>(op.payload - op.auth_start);
    job->msg_len_to_cipher_in_bytes = op.payload_len;
    job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->auth_tag_output = seal ? op.icv : op.computed_icv;
    job->auth_tag_output_len_in_bytes = k.info.icv_len;
    job->user_data = &ctx;
    if (k.cipher == Cipher::chacha20_poly1305) {
        aead_nonce(op, ctx.nonce);
        job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
        job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
        job->enc_keys = job->dec_keys = k.chacha_key;
        job->key_len_in_bytes = 32;
        job->iv = ctx.nonce;
        job->iv_len_in_bytes = 12;
        job->hash_start_src_offset_in_bytes = job->cipher_start_src_offset_in_bytes;
        job->msg_len_to_hash_in_bytes = op.payload_len;
        job->u.CHACHA20_POLY1305.aad = op.aad;
        job->u.CHACHA20_POLY1305.aad_len_in_bytes = op.aad_len;
    } else {
        job->cipher_mode = IMB_CIPHER_CBC;
        job->hash_alg = hash_alg(k.integrity);
        job->enc_keys = k.aes_enc;
        job->dec_keys = k.aes_dec;
        job->key_len_in_bytes = k.info.key_len;
        job->iv = op.iv;
        job->iv_len_in_bytes = 16;
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = op.auth_len;
        job->u.HMAC._hashed_auth_key_xor_ipad = k.hmac_ipad;
        job->u.HMAC._hashed_auth_key_xor_opad = k.hmac_opad;
    }
}

void complete_job(const IMB_JOB* job, bool seal) {
    auto* ctx = static_cast<JobCtx*>(job->user_data);
    CryptoOp& op = *ctx->op;
    if (job->status != IMB_STATUS_COMPLETED) {
        op.ok = false;
        return;
    }
    if (seal) {
        op.ok = true;
        return;
    }
    const uint8_t* received = op.icv_moved ? op.received_icv : op.icv;
    op.ok = equal_ct(op.computed_icv, received, op.keys->info.icv_len);
}

void gcm_one(IMB_MGR* mgr, CryptoOp& op, bool seal) {
    const SaKeys& k = *op.keys;
    uint8_t nonce[12];
    aead_nonce(op, nonce);
    struct gcm_context_data ctx;
    uint8_t* tag = seal ? op.icv : op.computed_icv;
    if (k.cipher == Cipher::aes128_gcm) {
        if (seal)
            IMB_AES128_GCM_ENC(mgr, &k.gcm, &ctx, op.payload, op.payload, op.payload_len, nonce,
                               op.aad, op.aad_len, tag, 16);
        else
            IMB_AES128_GCM_DEC(mgr, &k.gcm, &ctx, op.payload, op.payload, op.payload_len, nonce,
                               op.aad, op.aad_len, tag, 16);
    } else {
        if (seal)
            IMB_AES256_GCM_ENC(mgr, &k.gcm, &ctx, op.payload, op.payload, op.payload_len, nonce,
                               op.aad, op.aad_len, tag, 16);
        else
            IMB_AES256_GCM_DEC(mgr, &k.gcm, &ctx, op.payload, op.payload, op.payload_len, nonce,
                               op.aad, op.aad_len, tag, 16);
    }
    op.ok = seal || equal_ct16(op.computed_icv, op.icv);
}

void run_burst(IMB_MGR* mgr, CryptoOp* const* ops, uint32_t n, bool seal) {
    // One context per op that goes through the job manager; a burst is at most this long.
    constexpr uint32_t kMaxJobs = 256;
    JobCtx ctx[kMaxJobs];
    uint32_t jobs = 0;
    for (uint32_t i = 0; i < n; ++i) {
        CryptoOp& op = *ops[i];
        const Cipher c = op.keys->cipher;
        if (c == Cipher::aes128_gcm || c == Cipher::aes256_gcm) {
            gcm_one(mgr, op, seal);
            continue;
        }
        if (jobs == kMaxJobs) {  // callers use bursts far below this; never overrun
            op.ok = false;
            continue;
        }
        JobCtx& jc = ctx[jobs++];
        jc.op = &op;
        op.ok = false;
        IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
        fill_job(job, op, jc, seal);
        job = IMB_SUBMIT_JOB(mgr);
        while (job) {
            complete_job(job, seal);
            job = IMB_GET_COMPLETED_JOB(mgr);
        }
    }
    if (jobs) {
        IMB_JOB* job;
        while ((job = IMB_FLUSH_JOB(mgr)) != nullptr) complete_job(job, seal);
    }
}

}  // namespace

void seal_burst(IMB_MGR* mgr, CryptoOp* const* ops, uint32_t n) { run_burst(mgr, ops, n, true); }

void open_burst(IMB_MGR* mgr, CryptoOp* const* ops, uint32_t n) { run_burst(mgr, ops, n, false); }

void make_cbc_iv(IMB_MGR* mgr, const SaKeys& keys, uint64_t seq, uint8_t iv[16]) {
    alignas(16) uint8_t counter[16] = {};
    alignas(16) const uint8_t zero[16] = {};
    const uint64_t be = net::be64(seq);
    std::memcpy(counter + 8, &be, 8);
    // CFB of a zero block with the counter as IV is exactly AES_K'(counter).
    IMB_AES128_CFB_ONE(mgr, iv, zero, counter, keys.iv_key_enc, 16);
}

}  // namespace espgw::crypto
